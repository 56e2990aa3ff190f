// Fixed-capacity FIFO: pushing past capacity overwrites the oldest entry, so the
// memory a long-running dashboard holds never grows past `capacity` rows.
export class RingBuffer {
  constructor(capacity) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
    this.items = new Array(capacity);
    this.start = 0;
    this.length = 0;
  }

  push(item) {
    const end = (this.start + this.length) % this.capacity;
    this.items[end] = item;
    if (this.length < this.capacity) {
      this.length += 1;
    } else {
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** The i-th oldest entry (0 = oldest). */
  at(index) {
    if (index < 0 || index >= this.length) return undefined;
    return this.items[(this.start + index) % this.capacity];
  }

  first() {
    return this.at(0);
  }

  last() {
    return this.at(this.length - 1);
  }

  shift() {
    if (this.length === 0) return undefined;
    const item = this.items[this.start];
    this.items[this.start] = undefined;
    this.start = (this.start + 1) % this.capacity;
    this.length -= 1;
    return item;
  }

  clear() {
    this.items = new Array(this.capacity);
    this.start = 0;
    this.length = 0;
  }

  /** The newest `count` entries, newest first. */
  newest(count) {
    const result = [];
    for (let i = this.length - 1; i >= 0 && result.length < count; i -= 1) {
      result.push(this.at(i));
    }
    return result;
  }

  toArray() {
    const result = new Array(this.length);
    for (let i = 0; i < this.length; i += 1) result[i] = this.at(i);
    return result;
  }
}
