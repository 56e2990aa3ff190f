// Turns the held rows into what a chart draws: the rows inside the time window,
// in time order, reduced to at most `maxPoints` points.
import { horaToMillis } from './rows.js';

export const DEFAULT_MAX_POINTS = 300;

/**
 * The window ends at the newest reading held (the data's own clock, so replayed
 * records of an earlier run still show) and spans `windowMs` back from it.
 */
export function windowSeries(rows, field, windowMs, newestMillis, maxPoints = DEFAULT_MAX_POINTS) {
  if (rows.length === 0 || Number.isNaN(newestMillis)) return [];
  const start = newestMillis - windowMs;
  const points = [];
  for (let i = 0; i < rows.length; i += 1) {
    const row = rows.at(i);
    const x = horaToMillis(row.hora);
    const y = Number(row[field]);
    if (x >= start && Number.isFinite(y)) points.push({ x, y, id: row.id });
  }
  // Replay stores records in arrival order, not reading order.
  points.sort((a, b) => a.x - b.x || a.id - b.id);
  return downsample(points, maxPoints);
}

/**
 * Largest-Triangle-Three-Buckets: keeps the first and last points and, per
 * bucket, the point that best preserves the line's shape (peaks survive).
 */
export function downsample(points, maxPoints) {
  if (points.length <= maxPoints || maxPoints < 3) return points;
  const sampled = [points[0]];
  const bucketSize = (points.length - 2) / (maxPoints - 2);
  let previous = 0;
  for (let bucket = 0; bucket < maxPoints - 2; bucket += 1) {
    const from = Math.floor(bucket * bucketSize) + 1;
    const to = Math.floor((bucket + 1) * bucketSize) + 1;
    const nextFrom = to;
    const nextTo = Math.min(Math.floor((bucket + 2) * bucketSize) + 1, points.length);
    let avgX = 0;
    let avgY = 0;
    for (let i = nextFrom; i < nextTo; i += 1) {
      avgX += points[i].x;
      avgY += points[i].y;
    }
    const nextCount = Math.max(nextTo - nextFrom, 1);
    avgX /= nextCount;
    avgY /= nextCount;
    const a = points[previous];
    let chosen = from;
    let largestArea = -1;
    for (let i = from; i < to; i += 1) {
      const area = Math.abs((a.x - avgX) * (points[i].y - a.y) - (a.x - points[i].x) * (avgY - a.y));
      if (area > largestArea) {
        largestArea = area;
        chosen = i;
      }
    }
    sampled.push(points[chosen]);
    previous = chosen;
  }
  sampled.push(points[points.length - 1]);
  return sampled;
}
