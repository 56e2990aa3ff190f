// A chart window as ws-server answered it (contracts/realtime-events.schema.json
// #/$defs/windowData), continued live: every row above the answer's through_id
// goes into its bucket, and a row whose `hora` opens a newer bucket slides the
// window forward. The buckets are the server's: same width, same alignment
// (whole multiples of the width since the epoch), so live and loaded points agree.
import { horaToMillis } from './rows.js';

export const CHART_FIELDS = ['porcentaje_ram', 'porcentaje_cpu_uso'];

export class ChartWindow {
  constructor(reply) {
    this.minutes = reply.minutes;
    this.intervalMs = reply.interval_seconds * 1000;
    this.bucketCount = (reply.minutes * 60) / reply.interval_seconds;
    this.throughId = reply.through_id;
    this.newestMillis = reply.end === null ? NaN : horaToMillis(reply.end);
    this.lastIndex = Number.isNaN(this.newestMillis) ? null : this.#indexOf(this.newestMillis);
    this.buckets = new Map(); // bucket index -> { n, porcentaje_ram: { sum, avg, min, max }, ... }
    for (const bucket of reply.buckets) {
      const stats = Object.fromEntries(CHART_FIELDS.map((field) => {
        const { avg, min, max } = bucket[field];
        return [field, { sum: avg * bucket.n, avg, min, max }];
      }));
      this.buckets.set(this.#indexOf(horaToMillis(bucket.t)), { n: bucket.n, ...stats });
    }
  }

  #indexOf(millis) {
    return Math.floor(millis / this.intervalMs);
  }

  /** Adds a row the answer did not count; false when it was counted or is older than the window. */
  add(row) {
    if (row.id <= this.throughId) return false;
    const millis = horaToMillis(row.hora);
    const index = this.#indexOf(millis);
    if (this.lastIndex === null || index > this.lastIndex) {
      this.lastIndex = index;
      for (const old of this.buckets.keys()) {
        if (old <= index - this.bucketCount) this.buckets.delete(old);
      }
    } else if (index <= this.lastIndex - this.bucketCount) {
      return false;
    }
    if (!(millis <= this.newestMillis)) this.newestMillis = millis;
    const bucket = this.buckets.get(index);
    if (!bucket) {
      this.buckets.set(index, {
        n: 1,
        ...Object.fromEntries(CHART_FIELDS.map((field) => {
          const value = Number(row[field]);
          return [field, { sum: value, avg: value, min: value, max: value }];
        })),
      });
      return true;
    }
    bucket.n += 1;
    for (const field of CHART_FIELDS) {
      const value = Number(row[field]);
      const stats = bucket[field];
      stats.sum += value;
      stats.avg = stats.sum / bucket.n;
      stats.min = Math.min(stats.min, value);
      stats.max = Math.max(stats.max, value);
    }
    return true;
  }

  /** The axis: from the first bucket's start to the end of the newest record's bucket; null when empty. */
  get domain() {
    if (this.lastIndex === null) return null;
    return [(this.lastIndex - this.bucketCount + 1) * this.intervalMs, (this.lastIndex + 1) * this.intervalMs];
  }

  /** Oldest first: x the bucket's start, y the average, min and max its band. */
  points(field) {
    return [...this.buckets.keys()].sort((a, b) => a - b).map((index) => {
      const { avg, min, max } = this.buckets.get(index)[field];
      return { x: index * this.intervalMs, y: avg, min, max };
    });
  }
}
