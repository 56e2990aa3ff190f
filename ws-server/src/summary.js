// The `summary` event's figures per route: rows stored ever (the startup
// count plus every row seen since) and rows received within the last minute.
export const RATE_WINDOW_MS = 60_000;
const ROUTES = ['python', 'node'];

export class RouteSummary {
  constructor() {
    this.lastKey = '';
    this.reset([], []);
  }

  /** counts: [{ route, n }] stored up to the cursor; recent: [{ route, t }] received in the last minute. */
  reset(counts, recent) {
    this.stored = { python: 0, node: 0 };
    for (const { route, n } of counts) this.stored[route] = Number(n);
    this.window = []; // { t, route } of rows received in the last minute
    this.windowHead = 0;
    this.windowCounts = { python: 0, node: 0 };
    for (const { route, t } of recent) this.addToWindow(t, route);
  }

  /** A row delivered: `t` is its received_at in ms. */
  add(t, route) {
    this.stored[route] += 1;
    this.addToWindow(t, route);
  }

  addToWindow(t, route) {
    this.window.push({ t, route });
    this.windowCounts[route] += 1;
  }

  expire(now) {
    const oldest = now - RATE_WINDOW_MS;
    while (this.windowHead < this.window.length && this.window[this.windowHead].t < oldest) {
      this.windowCounts[this.window[this.windowHead].route] -= 1;
      this.windowHead += 1;
    }
    if (this.windowHead > 1024 && this.windowHead * 2 > this.window.length) {
      this.window = this.window.slice(this.windowHead);
      this.windowHead = 0;
    }
  }

  figures(now) {
    const total = this.stored.python + this.stored.node;
    const routes = {};
    for (const route of ROUTES) {
      routes[route] = {
        stored: this.stored[route],
        records_per_second: Math.round((this.windowCounts[route] / 60) * 1000) / 1000,
        split_percent: total > 0 ? Math.round((this.stored[route] / total) * 10000) / 100 : 0,
      };
    }
    return { routes, total, at: new Date(now).toISOString() };
  }

  /** The figures when one of them changed since the last call, else null: not one event per tick. */
  ifChanged(now) {
    const figures = this.figures(now);
    const key = JSON.stringify(figures.routes);
    if (key === this.lastKey) return null;
    this.lastKey = key;
    return figures;
  }
}
