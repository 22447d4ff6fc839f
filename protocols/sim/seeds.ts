/**
 * Derives independent 32-bit seeds from a parent seed and small integers (node index, path
 * ends), so each concern gets its own stream and adding a node leaves the others' streams as
 * they were.
 */
export function deriveSeed(parent: number, ...parts: number[]): number {
  let h = parent >>> 0;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x9e3779b1) >>> 0;
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
  }
  return h >>> 0;
}

/** Node ids sort in creation order: n01, n02, … */
export function nodeId(index: number): string {
  return `n${String(index + 1).padStart(2, '0')}`;
}
