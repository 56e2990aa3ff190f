// ws-server's `comparison` events (contracts/realtime-events.schema.json#/$defs/comparison)
// folded into what the route comparison panel draws.

/**
 * The state after `payload`: its figures, and per route the p95 points kept
 * (all of them on `replace`, else the previous ones plus the new), none older
 * than `maxAgeMs` before the newest round.
 */
export function mergeComparison(previous, payload, maxAgeMs) {
  const newest = Date.parse(payload.at);
  const routes = payload.routes.map((route) => {
    const before = payload.replace ? [] : previous?.routes.find((r) => r.route === route.route)?.p95_points ?? [];
    const lastAt = before.length > 0 ? Date.parse(before.at(-1).at) : -Infinity;
    const points = [...before, ...route.p95_points.filter((p) => Date.parse(p.at) > lastAt)]
      .filter((p) => !(Date.parse(p.at) < newest - maxAgeMs));
    return { ...route, p95_points: points };
  });
  return { ...payload, routes };
}

/** A figure as routecompare prints it: `digits` decimals, '-' when there is none. */
export function formatFigure(value, digits) {
  return value === null || value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);
}
