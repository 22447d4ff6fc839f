/** Small distribution helpers for printed figures. */
export function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function summarize(label: string, valuesMs: readonly number[], targets?: { p50?: number; p99?: number }): string {
  const p50 = percentile(valuesMs, 50);
  const p99 = percentile(valuesMs, 99);
  const fmt = (v: number) => (Number.isFinite(v) ? `${Math.round(v)} ms` : 'n/a');
  const target = (v: number, t?: number) => (t === undefined ? '' : v <= t ? ` (target ≤ ${t} ms: met)` : ` (target ≤ ${t} ms: MISSED)`);
  return [
    `${label}: n=${valuesMs.length}`,
    `  p50 ${fmt(p50)}${target(p50, targets?.p50)}`,
    `  p99 ${fmt(p99)}${target(p99, targets?.p99)}`,
    `  min ${fmt(Math.min(...valuesMs))}  max ${fmt(Math.max(...valuesMs))}`,
  ].join('\n');
}

/** Parses `--key value` options with numeric defaults; unknown options are a usage error. */
export function parseNumberOptions<T extends Record<string, number>>(args: string[], defaults: T): T {
  const out: Record<string, number> = { ...defaults };
  for (let i = 0; i < args.length; i++) {
    const key = args[i]!.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const value = Number(args[i + 1]);
    if (!(key in defaults) || !Number.isFinite(value)) {
      process.stderr.write(`unknown or invalid option ${args[i]} (options: ${Object.keys(defaults).map((k) => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())).join(' ')})\n`);
      process.exit(2);
    }
    out[key] = value;
    i++;
  }
  return out as T;
}
