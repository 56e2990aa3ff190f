// Helpers for the table rows of contracts/realtime-events.schema.json.

/** Milliseconds since the epoch of a row's `hora` ("YYYY-MM-DD HH:MM:SS", UTC), or NaN. */
export function horaToMillis(hora) {
  if (typeof hora !== 'string') return NaN;
  return Date.parse(`${hora.replace(' ', 'T')}Z`);
}

/** "HH:MM:SS" in UTC, for axis ticks. */
export function formatClock(millis) {
  return new Date(millis).toISOString().slice(11, 19);
}

/** A percentage as text with at most two decimals, as the database stores it. */
export function formatPercent(value) {
  return `${Number(value).toFixed(2)} %`;
}

/** "YYYY-MM-DD HH:MM:SS" in UTC: a `hora` as the contract writes it. */
export function millisToHora(millis) {
  return new Date(millis).toISOString().slice(0, 19).replace('T', ' ');
}
