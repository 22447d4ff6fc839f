/**
 * The run's event log: every line feeds a hash (two FNV-1a lanes, 64 bits in all) so two runs
 * can be compared cheaply, and the most recent lines are kept for a violation report.
 */
export class Trace {
  private readonly recent: Ring;
  private readonly notableRecent: Ring;
  private hashA = 0x811c9dc5;
  private hashB = 0x01000193;
  private lineCount = 0;

  constructor(keep: number, private readonly onLine: ((line: string) => void) | null = null) {
    this.recent = new Ring(keep);
    this.notableRecent = new Ring(keep);
  }

  get lines(): number {
    return this.lineCount;
  }

  /** A fault, a membership event or an election change: kept apart from message traffic too. */
  addNotable(line: string): void {
    this.add(line);
    this.notableRecent.push(line);
  }

  add(line: string): void {
    let a = this.hashA;
    let b = this.hashB;
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193) >>> 0;
      b = Math.imul(b ^ c, 0x0100019d) >>> 0;
    }
    // A separator, so "ab"+"c" and "a"+"bc" differ.
    this.hashA = Math.imul(a ^ 10, 0x01000193) >>> 0;
    this.hashB = Math.imul(b ^ 10, 0x0100019d) >>> 0;
    this.lineCount++;
    this.recent.push(line);
    this.onLine?.(line);
  }

  hash(): string {
    return this.hashA.toString(16).padStart(8, '0') + this.hashB.toString(16).padStart(8, '0');
  }

  /** The kept lines, oldest first. */
  tail(): string[] {
    return this.recent.items();
  }

  notable(): string[] {
    return this.notableRecent.items();
  }
}

class Ring {
  private readonly lines: string[] = [];
  private next = 0;

  constructor(private readonly size: number) {}

  push(line: string): void {
    if (this.size <= 0) return;
    this.lines[this.next] = line;
    this.next = (this.next + 1) % this.size;
  }

  /** Oldest first. */
  items(): string[] {
    if (this.lines.length < this.size) return [...this.lines];
    return [...this.lines.slice(this.next), ...this.lines.slice(0, this.next)];
  }
}
