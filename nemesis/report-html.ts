/**
 * A chaos run as one self-contained HTML page (`chaos/<run>/report.html`): no script, no network,
 * only markup, so it opens anywhere and a test can read it. A timeline per node of what it
 * answered (leader, candidate, follower, or no answer) with the term on each reign, the faults as
 * shaded bands over the nodes they hit, the stretches without a leader marked on a cluster lane,
 * the violations as red marks with their detail, then the summary table and the violation list.
 * Pure: history and report in, a string out.
 */
import { percentile } from '../bench/stats.js';
import { extreme, VIOLATION_KINDS, type ChaosReport } from './check.js';
import type { FaultRecord, HistoryRecord, RunMeta, SampleRecord } from './history.js';
import { formatSides, type Fault } from './schedule.js';

const WIDTH_PX = 1200;
const LABEL_PX = 60;
const LANE_PX = 26;
const AXIS_PX = 24;

const ROLE_COLOURS: Readonly<Record<string, string>> = { leader: '#2e9d4f', candidate: '#e0a100', follower: '#8aa4c8' };

interface Segment {
  role: string;
  term: number;
  fromMs: number;
  toMs: number;
}

export function renderReportHtml(records: readonly HistoryRecord[], report: ChaosReport): string {
  const meta = records[0] as RunMeta;
  const endMs = records.find((r) => r.type === 'end')?.t ?? extreme(records.map((r) => r.t), 'max', 0);
  const nodes = Array.from({ length: meta.nodes }, (_, i) => `n${i + 1}`);
  const x = (ms: number) => LABEL_PX + (Math.max(0, Math.min(ms, endMs)) / Math.max(1, endMs)) * (WIDTH_PX - LABEL_PX);
  const laneY = (i: number) => AXIS_PX + LANE_PX * (i + 1);
  const height = laneY(nodes.length) + 8;
  const samples = records.filter((r): r is SampleRecord => r.type === 'sample');
  const parts: string[] = [];

  // Axis: a tick every "round" number of seconds, about ten across.
  const stepMs = niceStep(endMs / 10);
  for (let t = 0; t <= endMs; t += stepMs) {
    parts.push(`<line class="tick" x1="${x(t)}" y1="${AXIS_PX - 4}" x2="${x(t)}" y2="${height}"/><text class="tick-label" x="${x(t)}" y="${AXIS_PX - 8}">${formatSeconds(t)}</text>`);
  }
  // Fault bands under the lanes they hit (a partition: its minority side, labelled with both sides).
  for (const span of faultSpans(records, endMs)) {
    // Lane 0 is the cluster's; node n's is lane n.
    const hit = span.fault.kind === 'partition' || span.fault.kind === 'bridge' ? nodes.map((_, i) => i + 1) : span.fault.kind === 'one-way' ? span.fault.groups!.flat() : span.fault.nodes;
    for (const lane of hit) {
      parts.push(`<rect class="fault fault-${span.fault.kind}" x="${x(span.fromMs)}" y="${laneY(lane) - LANE_PX + 2}" width="${Math.max(2, x(span.toMs) - x(span.fromMs))}" height="${LANE_PX - 4}"><title>${escape(describe(span.fault))}</title></rect>`);
    }
  }
  // The cluster lane: leaderless stretches.
  parts.push(`<text class="lane-label" x="4" y="${laneY(0) - 8}">cluster</text>`);
  for (const s of report.leaderless) {
    parts.push(`<rect class="leaderless" x="${x(s.fromMs)}" y="${laneY(0) - LANE_PX + 6}" width="${Math.max(2, x(s.toMs) - x(s.fromMs))}" height="${LANE_PX - 12}"><title>no leader for ${Math.round(s.toMs - s.fromMs)} ms</title></rect>`);
  }
  // A lane per node: its answers merged into segments.
  nodes.forEach((node, i) => {
    const y = laneY(i + 1) - LANE_PX + 7;
    parts.push(`<g class="lane" data-node="${node}"><text class="lane-label" x="4" y="${laneY(i + 1) - 8}">${node}</text>`);
    for (const seg of segments(samples.filter((s) => s.node === node))) {
      const w = Math.max(1, x(seg.toMs) - x(seg.fromMs));
      parts.push(`<rect class="role role-${seg.role}" x="${x(seg.fromMs)}" y="${y}" width="${w}" height="${LANE_PX - 14}" fill="${ROLE_COLOURS[seg.role] ?? '#999'}"><title>${node} ${seg.role}, term ${seg.term}, ${formatSeconds(seg.fromMs)}–${formatSeconds(seg.toMs)}</title></rect>`);
      if (seg.role === 'leader' && w > 24) parts.push(`<text class="term" x="${x(seg.fromMs) + 3}" y="${y + 10}">t${seg.term}</text>`);
    }
    parts.push('</g>');
  });
  for (const v of report.violations) {
    parts.push(`<g class="violation"><line x1="${x(v.atMs)}" y1="${AXIS_PX}" x2="${x(v.atMs)}" y2="${height}"/><title>${escape(`${v.kind}: ${v.detail}`)}</title></g>`);
  }

  const faultRows = Object.entries(report.faults).map(([kind, n]) => `${kind} ${n}`).join(', ') || 'none';
  const leaderless = report.leaderlessMs;
  const rows: [string, string][] = [
    ['seed', String(meta.seed)],
    ['nodes, protocol', `${meta.nodes}, ${meta.protocol}`],
    ['duration', formatSeconds(endMs)],
    ['faults injected', faultRows],
    ['sampling rounds', String(report.rounds)],
    ['leader changes', String(report.leaderChanges)],
    ['leaderless stretches', leaderless.length === 0 ? 'none' : `${leaderless.length}: p50 ${Math.round(percentile(leaderless, 50))} ms, p99 ${Math.round(percentile(leaderless, 99))} ms, max ${Math.round(Math.max(...leaderless))} ms`],
    ['conclave run children started', String(report.jobStarts)],
    ...(report.kv.operations === 0 ? [] : [['key-value operations', `${report.kv.operations} on ${report.kv.keys} keys (${report.kv.unknown} of unknown outcome): ${report.kv.verdict}`] as [string, string]]),
    ...(report.elections.elected + report.elections.observed === 0 ? [] : [['named elections', `${report.elections.elected} won, ${report.elections.observed} leaders observed`] as [string, string]]),
    ...VIOLATION_KINDS.map((kind): [string, string] => [kind, String(report.violations.filter((v) => v.kind === kind).length)]),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Conclave chaos run, seed ${meta.seed}</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 16px; color: #222; }
h1 { font-size: 18px; } .verdict-ok { color: #2e7d32; } .verdict-bad { color: #c62828; }
svg { border: 1px solid #ddd; background: #fff; }
.tick { stroke: #eee; } .tick-label { font-size: 10px; fill: #777; text-anchor: middle; }
.lane-label { font-size: 12px; fill: #333; } .term { font-size: 9px; fill: #fff; }
.fault { fill: rgba(120, 120, 120, 0.18); } .fault-partition { fill: rgba(156, 39, 176, 0.14); } .fault-kill { fill: rgba(198, 40, 40, 0.16); }
.leaderless { fill: #e57373; } .violation line { stroke: #c62828; stroke-width: 2; }
table { border-collapse: collapse; margin-top: 16px; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
td.bad { color: #c62828; font-weight: bold; }
.legend span { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; vertical-align: middle; }
</style></head>
<body>
<h1>Chaos run: seed ${meta.seed}, ${meta.nodes} ${escape(meta.protocol)} nodes, started ${escape(meta.startedAt)} — <span class="${report.ok ? 'verdict-ok' : 'verdict-bad'}" id="verdict">${report.ok ? 'every check holds' : `${report.violations.length} violation(s)`}</span></h1>
<div class="legend"><span style="background:${ROLE_COLOURS.leader}"></span>leader<span style="background:${ROLE_COLOURS.candidate}"></span>candidate<span style="background:${ROLE_COLOURS.follower}"></span>follower<span style="background:#e57373"></span>no leader (cluster lane)<span style="background:rgba(120,120,120,0.3)"></span>fault (hover for what)<span style="background:#c62828;width:2px"></span>violation</div>
<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="${WIDTH_PX}" height="${height}" viewBox="0 0 ${WIDTH_PX} ${height}">
${parts.join('\n')}
</svg>
<table id="summary"><tbody>
${rows.map(([k, v]) => `<tr><th>${escape(k)}</th><td data-key="${escape(k)}"${(VIOLATION_KINDS as readonly string[]).includes(k) && v !== '0' ? ' class="bad"' : ''}>${escape(v)}</td></tr>`).join('\n')}
</tbody></table>
${report.violations.length === 0 ? '' : `<h2>Violations</h2><ol id="violations">${report.violations.map((v) => `<li>${escape(`${v.kind} at ${formatSeconds(v.atMs)}: ${v.detail}`)}</li>`).join('')}</ol>`}
</body></html>
`;
}

/**
 * One node's answers in consecutive rounds with the same role and term; a round it did not answer
 * (killed, paused, cut off from the recorder) ends a segment, so its silence shows as a gap. A
 * segment reaches to its last answer's round; a lone answer is drawn one sample wide.
 */
function segments(samples: readonly SampleRecord[]): (Segment & { lastRound: number })[] {
  const out: (Segment & { lastRound: number })[] = [];
  for (const s of samples) {
    const last = out.at(-1);
    if (last && last.role === s.role && last.term === s.term && s.round === last.lastRound + 1) {
      last.toMs = s.t;
      last.lastRound = s.round;
      continue;
    }
    out.push({ role: s.role, term: s.term, fromMs: s.t, toMs: s.t, lastRound: s.round });
  }
  return out;
}

function faultSpans(records: readonly HistoryRecord[], endMs: number): { fault: Fault; fromMs: number; toMs: number }[] {
  const spans: { fault: Fault; fromMs: number; toMs: number }[] = [];
  for (const r of records) {
    if (r.type !== 'fault-start' && r.type !== 'fault-end') continue;
    const f = (r as FaultRecord).fault;
    if (r.type === 'fault-start') spans.push({ fault: f, fromMs: r.t, toMs: endMs });
    else {
      const open = spans.find((s) => s.fault.atMs === f.atMs && s.fault.kind === f.kind && s.toMs === endMs);
      if (open) open.toMs = r.t;
    }
  }
  return spans;
}

function describe(f: Fault): string {
  if (f.kind === 'partition') return `partition ${formatSides(f.groups!)}`;
  if (f.kind === 'bridge') return `bridge n${f.nodes[0]} between ${formatSides(f.groups!)}`;
  if (f.kind === 'one-way') return `one-way cut n${f.nodes[0]} → ${f.groups![1]!.map((i) => `n${i}`).join(',')}`;
  if (f.kind === 'hostile') return `hostile peers beside n${f.nodes[0]} (flooding n${f.flooded}, accusing n${f.accused})`;
  if (f.kind === 'loss') return `${f.percent} % loss at n${f.nodes[0]}`;
  return `${f.kind} n${f.nodes[0]}`;
}

function niceStep(ms: number): number {
  for (const step of [1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000]) if (step >= ms) return step;
  return 1_800_000;
}

function formatSeconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
