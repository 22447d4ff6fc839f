/**
 * Text both the CLI's reports and the dashboard show: durations and ages sized for a table cell,
 * short peer ids. Pure; neither side's internals.
 */

/** The last 8 characters of a peer id: the start is the same `12D3KooW` for every node. */
export function shortId(id: string): string {
  return id.length <= 8 ? id : id.slice(-8);
}

/** `0.3s`, `4.2s`, `42s`, `4m05s`, `2h03m`, `3d04h`: two units at most, sized for a table cell. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  const seconds = ms / 1000;
  if (seconds < 10) return `${(Math.floor(seconds * 10) / 10).toFixed(1)}s`;
  if (seconds < 60) return `${Math.floor(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${pad2(Math.floor(seconds % 60))}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h${pad2(minutes % 60)}m`;
  return `${Math.floor(hours / 24)}d${pad2(hours % 24)}h`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}
