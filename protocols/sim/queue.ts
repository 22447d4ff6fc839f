import { SimQueueOverflowError } from './errors.js';

interface Entry<T> {
  atMs: number;
  seq: number;
  item: T;
}

/**
 * Events ordered by virtual time, then by insertion order: two events at the same time always
 * run in the order they were scheduled, so a run is a function of its seed alone.
 */
export class EventQueue<T> {
  private readonly heap: Entry<T>[] = [];
  private nextSeq = 0;

  constructor(private readonly maxSize: number) {}

  get size(): number {
    return this.heap.length;
  }

  push(atMs: number, item: T): void {
    if (this.heap.length >= this.maxSize) throw new SimQueueOverflowError(this.maxSize);
    this.heap.push({ atMs, seq: this.nextSeq++, item });
    this.siftUp(this.heap.length - 1);
  }

  peekTimeMs(): number | null {
    return this.heap.length > 0 ? this.heap[0]!.atMs : null;
  }

  pop(): { atMs: number; item: T } | null {
    const heap = this.heap;
    if (heap.length === 0) return null;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.siftDown(0);
    }
    return { atMs: top.atMs, item: top.item };
  }

  private before(a: Entry<T>, b: Entry<T>): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
  }

  private siftUp(index: number): void {
    const heap = this.heap;
    let i = index;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(heap[i]!, heap[parent]!)) return;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private siftDown(index: number): void {
    const heap = this.heap;
    let i = index;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && this.before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && this.before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}
