// At most `limit` tasks at a time; the others wait their turn, first come
// first served.
export class Limiter {
  constructor(limit) {
    this.limit = limit;
    this.running = 0;
    this.queue = [];
  }

  get waiting() {
    return this.queue.length;
  }

  async run(task) {
    if (this.running >= this.limit) await new Promise((resolve) => this.queue.push(resolve));
    else this.running += 1;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next in line, so `running` never exceeds `limit`.
      const next = this.queue.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}
