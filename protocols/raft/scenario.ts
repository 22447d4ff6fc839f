/**
 * Data-driven Raft scenarios, after etcd-io/raft's testdata/ and cockroachdb/datadriven: a
 * scenario file is a sequence of blocks
 *
 *     command arg key=value
 *     ----
 *     the output it must print (one or more lines)
 *
 * separated by blank lines, with `#` comment lines allowed between blocks. Each command drives
 * a RaftNet (testing.ts) that holds messages in its queue, so a trace shows every delivery, the
 * effects it caused and the role changes that followed, one line each: a change in message
 * order or content fails the scenario with file:line, the expected and the actual output.
 *
 * Regenerate the expected outputs in the source files (then read every changed trace):
 *
 *     CONCLAVE_REWRITE_SCENARIOS=1 npm test -- scenarios
 *
 * Commands (time is virtual; the rng seed is fixed, so a file replays the same run):
 *   add-nodes n1 n2 n3 [bootstrap-expect=N] [seed=S]   the cluster (once per file); RaftConfig overrides as
 *     [stabilization-ms=] [dead-voter-remove-ms=]     keys, and the snapshot chunk size as chunk-bytes=
 *     [snapshot-entries=] [max-voters=] [chunk-bytes=]
 *     [leader-gone-stagger-ms=]
 *   join id                                           a node that joins the fleet later, started now
 *   start [id...] / restart id / crash id             run from the node's disk, or stop it (disk survives)
 *   elect id                                          start all, wait for a leader, hand it to id (quiet)
 *   advance ms [hold] [verbose]                       tick every node each 10 ms, delivering as it goes
 *                                                     (hold: leave messages queued; verbose: show heartbeats)
 *   deliver [from=id] [to=id] [type=T] [drop]         deliver (or drop) the queued messages that match, one round
 *   stabilize                                         deliver until nothing is queued
 *   pending                                           list the queued messages
 *   cut a b / isolate a / recover                     faults; membership then shows the unreachable dead
 *   pause id / resume id                              SIGSTOP / SIGCONT: a paused node neither ticks nor reads (peers
 *                                                     still show it alive); resumed, it reads what waited, then ticks
 *   connection-lost a [seen-by=b,c]                   a shows suspect, its connection lost (to b and c only)
 *   campaign id / transfer from to / resign id        leadership commands (`campaign` is the operator's elect)
 *   remove from id                                    asks `from` to take `id` out of the configuration
 *   hup id                                             a pre-vote campaign now, whatever the node knows (etcd's MsgHup)
 *   shutdown id                                       SIGTERM: a leader hands off (messages stay queued), then is ready
 *   status id|all / log id                            the machine's state, the summary it reports, its log
 *
 * Trace lines: `n1->n2 TYPE ...` a delivery (`(cut)`, `(dropped)`, `(down)` when it was lost),
 * indented below it what the receiver did; `n1 tick:` / `n1 view:` / `n1 command:` head what a
 * timer, a membership view or a command caused; `@1230ms` marks virtual time when it moved.
 */
import type { KvOperation } from '../kv/types.js';
import type { ElectionInput, ElectionMember } from '../election.js';
import type { ElectionSummary, NodeId } from '../types.js';
import { DEFAULT_RAFT_CONFIG, type RaftConfig } from './config.js';
import { isHandoverRecord, type RaftEntry, type RaftMessage } from './messages.js';
import type { RaftStatus } from './raft.js';
import { RaftNet, type NetEvent, type RaftTestEffect, type Sent } from './testing.js';

// ---- the file format ----

export interface ScenarioBlock {
  /** 1-based line of the command. */
  line: number;
  command: string;
  expected: string;
  /** Lines [from, to) of the file hold the expected output (0-based, the line after `----` on). */
  outputFrom: number;
  outputTo: number;
}

/** Parses a scenario file; throws with file:line on a malformed block. */
export function parseScenario(text: string, file: string): ScenarioBlock[] {
  const lines = text.split('\n');
  const blocks: ScenarioBlock[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '' || line.startsWith('#')) {
      i++;
      continue;
    }
    if (lines[i + 1] !== '----') throw new Error(`${file}:${i + 2}: expected ---- after the command "${line}"`);
    const outputFrom = i + 2;
    let end = outputFrom;
    while (end < lines.length && lines[end]!.trim() !== '') end++;
    blocks.push({ line: i + 1, command: line.trim(), expected: lines.slice(outputFrom, end).join('\n'), outputFrom, outputTo: end });
    i = end;
  }
  return blocks;
}

/** The file with each block's expected output replaced by `outputs` (rewrite mode). */
export function rewriteScenario(text: string, blocks: readonly ScenarioBlock[], outputs: readonly string[]): string {
  const lines = text.split('\n');
  for (let b = blocks.length - 1; b >= 0; b--) {
    const block = blocks[b]!;
    lines.splice(block.outputFrom, block.outputTo - block.outputFrom, ...outputs[b]!.split('\n'));
  }
  return lines.join('\n');
}

/** A mismatch, readable in a test failure: where, the command, and a line diff (`-` expected, `+` actual). */
export function describeMismatch(file: string, block: ScenarioBlock, actual: string): string {
  return [`${file}:${block.line}: ${block.command}`, ...lineDiff(block.expected.split('\n'), actual.split('\n'))].join('\n');
}

/** A longest-common-subsequence line diff (outputs are short: quadratic is fine). */
function lineDiff(a: readonly string[], b: readonly string[]): string[] {
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const out: string[] = [];
  let [i, j] = [0, 0];
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) out.push(`    ${a[i++]}`), j++;
    else if (i < a.length && (j === b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) out.push(`  - ${a[i++]}`);
    else out.push(`  + ${b[j++]}`);
  }
  return out;
}

// ---- the runner ----

interface Args {
  positional: string[];
  keys: Map<string, string>;
}

function parseArgs(words: readonly string[]): Args {
  const args: Args = { positional: [], keys: new Map() };
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq > 0) args.keys.set(w.slice(0, eq), w.slice(eq + 1));
    else args.positional.push(w);
  }
  return args;
}

/** What a node showed last, to print only changes: the machine's own view, and what it reports. */
interface Shown {
  state: string;
  summary: string;
}

/** Bounds a wait so a scenario that never converges fails instead of spinning. */
const ELECT_MAX_MS = 20_000;

/** Runs scenario commands against one RaftNet, returning each command's printed output. */
export class ScenarioRunner {
  private net: RaftNet | null = null;
  private out: string[] = [];
  /** Lines caused by the current step, printed under its header once the step is over. */
  private buffered: string[] = [];
  private header: string | null = null;
  /** Whether a step with nothing to say but its header may go unprinted (ticks, views, heartbeats in `advance`). */
  private headerQuiet = false;
  /** Whether the current header is a heartbeat delivery (counted when unprinted). */
  private headerHeartbeat = false;
  private quietHeartbeats = false;
  private hiddenHeartbeats = 0;
  private shownAtMs = 0;
  private readonly shown = new Map<NodeId, Shown>();

  run(command: string): string {
    this.out = [];
    const [name, ...words] = command.split(/\s+/);
    try {
      this.dispatch(name!, parseArgs(words));
      this.flushStep();
      // What the command changed outside any step (a crash takes a node down).
      for (const id of this.net?.nodes.keys() ?? []) this.noteChanges(id);
      this.flushStep();
    } catch (err) {
      this.flushStep();
      this.out.push(`error: ${(err as Error).message}`);
    }
    return this.out.length ? this.out.join('\n') : 'ok';
  }

  private dispatch(name: string, args: Args): void {
    const p = args.positional;
    if (name === 'add-nodes') return this.addNodes(args);
    const net = this.cluster();
    switch (name) {
      case 'start':
        return net.start(...p);
      case 'restart':
        return net.start(one(p, name));
      case 'crash':
        return net.crash(one(p, name));
      case 'cut':
        if (p.length !== 2) throw new Error('cut needs two node ids');
        return net.cut(p[0]!, p[1]!);
      case 'isolate':
        return net.isolate(one(p, name));
      case 'pause':
        return net.pause(one(p, name));
      case 'resume':
        return this.withDelivery(() => net.resume(one(p, name)));
      case 'connection-lost':
        return net.connectionLost(one(p, name), args.keys.get('seen-by')?.split(','));
      case 'recover':
        return net.recover();
      case 'advance':
        return this.advance(Number(one(p, name)), p.includes('hold'), p.includes('verbose'));
      case 'deliver':
        return this.deliver(args);
      case 'stabilize':
        return this.withDelivery(() => net.pump());
      case 'pending':
        for (const m of net.pending()) this.out.push(formatSent(m));
        return;
      case 'elect':
        return this.elect(one(p, name));
      case 'campaign':
        return this.command(one(p, name), { kind: 'elect' });
      case 'hup':
        return this.hup(one(p, name));
      case 'transfer':
        if (p.length !== 2) throw new Error('transfer needs from and to');
        return this.command(p[0]!, { kind: 'transfer', to: p[1]! });
      case 'resign':
        return this.command(one(p, name), { kind: 'resign' });
      case 'shutdown':
        return this.shutdown(one(p, name));
      case 'remove':
        if (p.length !== 2) throw new Error('remove needs from and id');
        return this.command(p[0]!, { kind: 'remove', id: p[1]! });
      case 'join':
        return this.join(one(p, name));
      case 'status':
        for (const id of p[0] === 'all' || p.length === 0 ? [...net.nodes.keys()] : p) this.out.push(...this.status(id));
        return;
      case 'log':
        return this.log(one(p, name));
      default:
        throw new Error(`unknown command ${name}`);
    }
  }

  private addNodes(args: Args): void {
    if (this.net) throw new Error('add-nodes once per scenario');
    const ids = args.positional;
    const expect = Number(args.keys.get('bootstrap-expect') ?? ids.length);
    const seed = Number(args.keys.get('seed') ?? 1);
    const number = (key: string) => (args.keys.has(key) ? Number(args.keys.get(key)) : undefined);
    const overrides: Partial<RaftConfig> = {};
    for (const [key, field] of [['stabilization-ms', 'stabilizationMs'], ['dead-voter-remove-ms', 'deadVoterRemoveMs'], ['snapshot-entries', 'snapshotEntries'], ['max-voters', 'maxVoters'], ['leader-gone-stagger-ms', 'leaderGoneStaggerMs']] as const) {
      const value = number(key);
      if (value !== undefined) overrides[field] = value;
    }
    const net = new RaftNet(ids, { ...DEFAULT_RAFT_CONFIG, ...overrides }, seed, expect);
    net.snapshotChunkBytes = number('chunk-bytes');
    net.hold = true;
    net.onEvent = (e) => this.onEvent(e);
    this.net = net;
    for (const id of ids) this.shown.set(id, { state: 'down', summary: '' });
  }

  private cluster(): RaftNet {
    if (!this.net) throw new Error('add-nodes first');
    return this.net;
  }

  /** Runs `fn` with messages delivered as they are sent, then holds them again. */
  private withDelivery(fn: () => void): void {
    const net = this.cluster();
    net.hold = false;
    try {
      fn();
    } finally {
      net.hold = true;
    }
  }

  private advance(ms: number, hold: boolean, verbose: boolean): void {
    if (!Number.isFinite(ms) || ms <= 0) throw new Error('advance needs a positive number of ms');
    this.quietHeartbeats = !verbose;
    this.hiddenHeartbeats = 0;
    try {
      if (hold) this.cluster().advance(ms);
      else this.withDelivery(() => this.cluster().advance(ms));
      this.flushStep();
    } finally {
      this.quietHeartbeats = false;
    }
    if (this.hiddenHeartbeats > 0) this.out.push(`(${this.hiddenHeartbeats} heartbeat messages delivered or lost, not shown)`);
  }

  private deliver(args: Args): void {
    const from = args.keys.get('from');
    const to = args.keys.get('to');
    const type = args.keys.get('type');
    const n = this.cluster().deliver((m) => (from === undefined || m.from === from) && (to === undefined || m.to === to) && (type === undefined || messageType(m.message) === type), args.positional.includes('drop'));
    if (n === 0) this.out.push('no message matches');
  }

  /** A node that joins later: added to the fleet and started (it shows in views from now on). */
  private join(id: NodeId): void {
    const net = this.cluster();
    if (net.nodes.has(id)) throw new Error(`${id} is already in the fleet`);
    net.add(id);
    this.shown.set(id, { state: 'down', summary: '' });
    net.start(id);
    this.noteChanges(id);
  }

  /** Quietly: start every node, run until a leader is agreed, hand leadership to `id`; prints the outcome. */
  private elect(id: NodeId): void {
    const net = this.cluster();
    this.silently(() => {
      this.withDelivery(() => {
        net.start();
        if (!net.advanceUntil(() => net.agreedLeader() !== null, ELECT_MAX_MS)) throw new Error('no agreed leader');
        const first = net.agreedLeader()!;
        if (first !== id) {
          net.command(first, { kind: 'transfer', to: id });
          if (!net.advanceUntil(() => net.agreedLeader() === id, ELECT_MAX_MS)) throw new Error(`leadership did not move to ${id}`);
        }
        // Every follower's commit catches up with the leader's (one more heartbeat round).
        net.advance(DEFAULT_RAFT_CONFIG.heartbeatIntervalMs);
      });
    });
    this.out.push(`${id} leads term ${net.machine(id).raftStatus().term}`);
    this.out.push(...this.status('all'));
  }

  /** Runs `fn` with tracing off (its errors still surface); what it changed is taken as shown. */
  private silently(fn: () => void): void {
    const net = this.cluster();
    const saved = net.onEvent;
    net.onEvent = null;
    try {
      fn();
    } finally {
      net.onEvent = saved;
      this.shownAtMs = net.nowMs;
      for (const id of net.nodes.keys()) this.shown.set(id, this.snapshot(id));
    }
  }

  private command(id: NodeId, command: Parameters<RaftNet['command']>[1]): void {
    this.act(id, `command: ${command.kind}${command.kind === 'transfer' ? ` to ${command.to}` : ''}`, (net) => net.command(id, command));
  }

  /** SIGTERM: the node hands off if it leads, then is ready to leave (its messages stay queued). */
  private shutdown(id: NodeId): void {
    this.act(id, 'shutdown', (net) => net.shutdown(id));
  }

  private hup(id: NodeId): void {
    this.act(id, 'hup', (net) => net.hup(id));
  }

  /** One input to `id` (a command, a signal), traced under the header `id what`. */
  private act(id: NodeId, what: string, input: (net: RaftNet) => void): void {
    const net = this.cluster();
    this.flushStep();
    this.header = `${id} ${what}`;
    this.headerQuiet = this.headerHeartbeat = false;
    input(net);
    this.noteChanges(id);
    this.flushStep();
  }

  // ---- tracing ----

  private onEvent(e: NetEvent): void {
    switch (e.type) {
      case 'time':
        this.flushStep();
        for (const id of this.cluster().nodes.keys()) this.noteChanges(id);
        this.flushStep();
        return;
      case 'deliver': {
        this.flushStep();
        const heartbeat = isHeartbeat(e.sent.message);
        if (e.fate !== 'delivered') {
          if (this.quietHeartbeats && heartbeat) this.hiddenHeartbeats++;
          else this.print(`${formatSent(e.sent)} (${e.fate})`);
          return;
        }
        this.header = formatSent(e.sent);
        this.headerQuiet = this.headerHeartbeat = this.quietHeartbeats && heartbeat;
        return;
      }
      case 'effect': {
        const line = formatEffect(e.effect);
        if (line !== null) this.buffered.push(`  ${line}`);
        return;
      }
      case 'stepped':
        if (this.header === null) {
          this.header = stepHeader(e.node, e.input);
          this.headerQuiet = true;
          this.headerHeartbeat = false;
        }
        this.noteChanges(e.node);
        this.flushStep();
        return;
    }
  }

  /** Buffers a line for each change in what `id` shows (its machine's state, the summary it reports). */
  private noteChanges(id: NodeId): void {
    const now = this.snapshot(id);
    const before = this.shown.get(id);
    this.shown.set(id, now);
    if (before?.state !== now.state) this.buffered.push(`  ${id} ${now.state}`);
    if (before?.summary !== now.summary && now.summary !== '') this.buffered.push(`  ${id} reports ${now.summary}`);
  }

  private snapshot(id: NodeId): Shown {
    const net = this.cluster();
    const m = net.node(id).machine;
    if (!m) return { state: 'down', summary: '' };
    const s = m.raftStatus();
    return { state: `is ${s.role} term=${s.term} leader=${s.leader ?? 'none'}`, summary: formatSummary(m.summary(net.nowMs)) };
  }

  /** Prints the current step's header and what it caused; a quiet header with nothing under it goes unprinted. */
  private flushStep(): void {
    const header = this.header;
    const lines = this.buffered;
    this.header = null;
    this.buffered = [];
    if (header === null && lines.length === 0) return;
    if (lines.length === 0 && this.headerQuiet) {
      if (this.headerHeartbeat) this.hiddenHeartbeats++;
      return;
    }
    if (header !== null) this.print(header);
    for (const line of lines) this.print(header === null ? line.trimStart() : line);
  }

  private print(line: string): void {
    const nowMs = this.cluster().nowMs;
    if (nowMs !== this.shownAtMs) {
      this.shownAtMs = nowMs;
      this.out.push(`@${nowMs}ms`);
    }
    this.out.push(line);
  }

  // ---- inspection ----

  private status(id: NodeId): string[] {
    const net = this.cluster();
    if (id === 'all') return [...net.nodes.keys()].flatMap((n) => this.status(n));
    const node = net.node(id);
    if (!node.machine) {
      const hard = node.disk.hard;
      return [`${id}: down (disk: term=${hard?.term ?? 0} vote=${hard?.votedFor ?? 'none'} last=${node.disk.entries.at(-1)?.index ?? 0})`];
    }
    const s: RaftStatus = node.machine.raftStatus();
    const lease = node.machine.status(net.nowMs).leaseRemainingMs;
    return [
      `${id}: ${s.role} term=${s.term} vote=${s.votedFor ?? 'none'} leader=${s.leader ?? 'none'} commit=${s.commitIndex} last=${s.lastIndex}/${s.lastTerm}`,
      `    reports ${formatSummary(node.machine.summary(net.nowMs))}${lease === null ? '' : ` lease=${lease}ms`}`,
    ];
  }

  private log(id: NodeId): void {
    const m = this.cluster().machine(id);
    const { commitIndex: commit, snapshotIndex } = m.raftStatus();
    if (snapshotIndex > 0) this.out.push(`snapshot ${snapshotIndex}/${m.snapshotTerm()}`);
    for (const e of m.logEntries()) this.out.push(`${formatEntry(e)}${e.index <= commit ? '' : ' (uncommitted)'}`);
    if (m.logEntries().length === 0 && snapshotIndex === 0) this.out.push('empty');
  }
}

function one(p: readonly string[], command: string): string {
  if (p.length < 1) throw new Error(`${command} needs an argument`);
  return p[0]!;
}

// ---- formatting ----

function stepHeader(node: NodeId, input: ElectionInput<RaftMessage>): string {
  switch (input.type) {
    case 'members':
      return `${node} view: ${formatView(input.members)}`;
    case 'message':
      return `${input.from}->${node} ${formatMessage(input.message)}`;
    default:
      return `${node} ${input.type}:`;
  }
}

/** The members that are not simply alive (everyone alive: `all alive`). */
function formatView(members: readonly ElectionMember[]): string {
  const odd = members.filter((m) => !m.self && m.state !== 'alive').map((m) => `${m.id} ${m.state}${m.connectionLost ? ' (connection lost)' : ''}`);
  return odd.length ? odd.join(', ') : 'all alive';
}

function formatSummary(s: ElectionSummary): string {
  return `${s.role} term=${s.term} leader=${s.leader ?? 'none'} token=${s.fencingToken}`;
}

function messageType(m: RaftMessage): string {
  if (m.type === 'VOTE') return m.preVote ? 'PREVOTE' : 'VOTE';
  if (m.type === 'VOTE_RESPONSE') return m.preVote ? 'PREVOTE_RESP' : 'VOTE_RESP';
  if (m.type === 'APPEND_RESPONSE') return 'APPEND_RESP';
  return m.type;
}

/** An empty APPEND, or a successful answer to one: what `advance` counts instead of printing. */
function isHeartbeat(m: RaftMessage): boolean {
  return (m.type === 'APPEND' && m.entries.length === 0) || (m.type === 'APPEND_RESPONSE' && m.success);
}

export function formatSent(s: Sent): string {
  return `${s.from}->${s.to} ${formatMessage(s.message)}`;
}

export function formatMessage(m: RaftMessage): string {
  const type = messageType(m);
  switch (m.type) {
    case 'VOTE':
      return `${type} term=${m.term} last=${m.lastLogIndex}/${m.lastLogTerm}${m.transfer ? ' transfer' : ''}`;
    case 'VOTE_RESPONSE':
      return `${type} term=${m.term} ${m.granted ? 'granted' : 'rejected'}${m.holds !== undefined ? ` holds=${m.holds}` : ''}${m.promise ? ' promise' : ''}${m.since !== undefined ? ` since=${m.since}` : ''}`;
    case 'APPEND':
      return `${type} term=${m.term} prev=${m.prevLogIndex}/${m.prevLogTerm} entries=[${m.entries.map(formatEntry).join(', ')}] commit=${m.leaderCommit} round=${m.round} lease=${m.keepLease ? 'kept' : m.leaseMs}`;
    case 'APPEND_RESPONSE':
      return `${type} term=${m.term} ${m.success ? 'ok' : 'reject'} index=${m.index}${m.success ? '' : ` hint=${m.hintIndex}/${m.hintTerm}`} round=${m.round}`;
    case 'TIMEOUT_NOW':
      return `${type} term=${m.term}`;
    case 'TRANSFER_VOTE':
      return `${type} term=${m.term} candidate=${m.candidate} last=${m.lastLogIndex}/${m.lastLogTerm}${m.handover !== undefined ? ` handover=${m.handover}` : ''}${m.answered !== undefined ? ` answered=${m.answered}` : ''}`;
    case 'SNAPSHOT':
      return `${type} term=${m.term} index=${m.index}/${m.snapshotTerm} chunk=${m.offset}+${m.chunk.length}/${m.total} round=${m.round}`;
    case 'SNAPSHOT_RESPONSE':
      return `${type} term=${m.term} index=${m.index} received=${m.received}${m.installed ? ' installed' : ''} round=${m.round}`;
    case 'COMMAND':
      return `${type} #${m.requestId} ${JSON.stringify(m.command)}`;
    case 'COMMAND_RESULT':
      return `${type} #${m.requestId} ${m.result.ok ? `ok: ${m.result.detail}` : `failed ${m.result.code}: ${m.result.message}`}`;
    case 'KV_PROPOSE':
      return `${type} #${m.request} ${formatKvOp(m.op)}`;
    case 'KV_REFUSED':
      return `${type} #${m.request} ${m.code}: ${m.message}`;
    case 'READ_INDEX':
      return `${type} #${m.request}`;
    case 'READ_INDEX_RESULT':
      return `${type} #${m.request} index=${m.index ?? 'none'}`;
  }
}

function formatKvOp(op: KvOperation): string {
  return op.kind === 'put' ? `put ${op.key}=${op.value}` : op.kind === 'delete' ? `delete ${op.key}` : op.kind;
}

function formatEntry(e: RaftEntry): string {
  const d = e.data;
  const what =
    d.kind === 'config' ? `config ${d.voters.join(',')}${d.learners.length ? ` learners ${d.learners.join(',')}` : ''}`
    : d.kind === 'leader' ? `leader ${d.leader}${isHandoverRecord(e) ? ` for term ${d.term}` : ''}`
    : `kv ${formatKvOp(d.op)}${d.origin ? ` from ${d.origin.node}` : ''}`;
  return `${e.index}/${e.term} ${what}`;
}

/** One line per effect, or null for a send (its delivery prints it). */
function formatEffect(e: RaftTestEffect): string | null {
  switch (e.type) {
    case 'send':
      return null;
    case 'persist': {
      const b = e.batch;
      const parts: string[] = [];
      if (b.snapshot) parts.push(`snapshot=${b.snapshot.index}/${b.snapshot.term}`);
      if (b.hardState) parts.push(`term=${b.hardState.term} vote=${b.hardState.votedFor ?? 'none'} commit=${b.hardState.commit ?? 0} fencing=${b.hardState.fencingFloor}`);
      if (b.truncateAfter !== undefined) parts.push(`truncate-after=${b.truncateAfter}`);
      if (b.entries?.length) parts.push(`entries=[${(b.entries as RaftEntry[]).map(formatEntry).join(', ')}]`);
      if (e.deferrable) parts.push('(deferrable)');
      return `persist ${parts.join(' ')}`;
    }
    case 'election-started':
      return `election-started term=${e.term} reason=${e.reason}`;
    case 'election-finished':
      return `election-finished term=${e.term} ${e.result} after ${e.durationMs}ms`;
    case 'command-result':
      return `command #${e.id} ${e.result.ok ? `ok: ${e.result.detail}` : `failed ${e.result.code}: ${e.result.message}`}`;
    case 'kv-answer':
      return `kv #${e.id} ${JSON.stringify(e.answer)}`;
    case 'kv-events':
      return `kv-events ${e.events.map((x) => `${x.type} ${x.kv.key}@${x.revision}`).join(', ')}`;
    case 'shutdown-ready':
      return 'shutdown-ready';
    case 'refused':
      return `refused from ${e.from}: ${e.reason} (${e.detail})`;
    case 'stepped-down':
      return `stepped-down term=${e.term} reason=${e.reason}`;
    case 'configuration-changed':
      return `configuration-changed index=${e.index} voters=${e.voters.join(',')}${e.learners.length ? ` learners=${e.learners.join(',')}` : ''}`;
    case 'snapshot':
      return `snapshot ${e.action} index=${e.index} term=${e.term}${e.peer ? ` peer=${e.peer}` : ''}`;
    case 'heartbeat-late':
      return `heartbeat-late ${e.lateMs}ms`;
  }
}
