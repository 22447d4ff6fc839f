/**
 * Raft in the simulator: the config it runs with, how long it may take to agree after healing,
 * and the properties of the Raft paper's Figure 3, judged on each machine's internal state
 * (RaftElection.raftStatus() and logEntries(), read through NodeView.election()), not only on
 * the summary: a leader whose record is not committed yet reports `candidate`, but Election
 * Safety is about who is leader inside the protocol. The protocol-neutral lease invariants are
 * in election-invariants.ts.
 */
import { DEFAULT_RAFT_CONFIG, type RaftConfig } from '../raft/config.js';
import type { RaftHardState } from '../raft/durable.js';
import type { RaftEntry } from '../raft/messages.js';
import { majorityOf } from '../raft/quorum.js';
import type { RaftElection } from '../raft/raft.js';
import type { NodeId } from '../types.js';
import { agreedLeaderAfterHeal, steppedNodes } from './election-invariants.js';
import type { InvariantFactory, NodeView, SimBounds, SimView } from './types.js';

/**
 * The daemon's defaults, but compacting every 2 committed entries: a run has tens of leader
 * changes, far below the default, and compaction and InstallSnapshot should run in every seed.
 */
export const SIM_RAFT_CONFIG: Readonly<RaftConfig> = Object.freeze({ ...DEFAULT_RAFT_CONFIG, snapshotEntries: 2 });
/** Small chunks, so a snapshot install takes several messages (and can lose some). */
export const SIM_SNAPSHOT_CHUNK_BYTES = 64;

function raftOf(node: NodeView): RaftElection | null {
  const e = node.election();
  return e && e.protocol === 'raft' ? (e as RaftElection) : null;
}

const entryKey = (e: RaftEntry) => `${e.term}:${JSON.stringify(e.data)}`;

/** Election Safety (§5.2): at most one node is leader, inside the protocol, in any term. */
export const raftElectionSafety: InvariantFactory = () => {
  const leaderOf = new Map<number, NodeId>();
  return {
    name: 'raft-election-safety',
    check(view) {
      for (const node of steppedNodes(view)) {
        const s = raftOf(node)?.raftStatus();
        if (s?.role !== 'leader') continue;
        const holder = leaderOf.get(s.term);
        if (holder === undefined) leaderOf.set(s.term, node.id);
        else if (holder !== node.id) return `${node.id} is leader of term ${s.term}, which ${holder} led`;
      }
      return null;
    },
  };
};

/**
 * Leader Append-Only (§5.3): while a node leads a term, it never overwrites or deletes its entries
 * (compaction drops a committed prefix into a snapshot: entries it no longer holds are not judged).
 */
export const raftLeaderAppendOnly: InvariantFactory = () => {
  const seen = new Map<NodeId, { life: number; term: number; keys: Map<number, string> }>();
  return {
    name: 'raft-leader-append-only',
    check(view) {
      for (const node of steppedNodes(view)) {
        const r = raftOf(node);
        const s = r?.raftStatus();
        if (!r || s?.role !== 'leader') {
          seen.delete(node.id);
          continue;
        }
        const keys = new Map(r.logEntries().map((e) => [e.index, entryKey(e)]));
        const before = seen.get(node.id);
        if (before && before.life === node.life && before.term === s.term) {
          for (const [index, key] of before.keys) {
            if (index <= s.snapshotIndex) continue;
            if (keys.get(index) !== key) return `leader ${node.id} of term ${s.term} changed its entry ${index}`;
          }
        }
        seen.set(node.id, { life: node.life, term: s.term, keys });
      }
      return null;
    },
  };
};

/**
 * Log Matching (§5.3): two logs holding an entry with the same index and term agree on everything
 * up to it (as far as both still hold entries: a snapshot replaced a committed prefix).
 */
export const raftLogMatching: InvariantFactory = () => ({
  name: 'raft-log-matching',
  check(view) {
    for (const node of steppedNodes(view)) {
      const mine = raftOf(node)?.logEntries();
      if (!mine) continue;
      const byIndex = new Map(mine.map((e) => [e.index, e]));
      for (const other of view.nodes) {
        const theirs = other === node ? undefined : raftOf(other)?.logEntries();
        if (!theirs) continue;
        const common = theirs.filter((e) => byIndex.has(e.index));
        let last = -1;
        for (let i = common.length - 1; i >= 0; i--) {
          if (byIndex.get(common[i]!.index)!.term === common[i]!.term) {
            last = i;
            break;
          }
        }
        for (let i = 0; i <= last; i++) {
          const e = common[i]!;
          if (entryKey(byIndex.get(e.index)!) !== entryKey(e)) return `${node.id} and ${other.id} both hold entry ${common[last]!.index} at term ${common[last]!.term} but differ at entry ${e.index}`;
        }
      }
    }
    return null;
  },
});

/**
 * State Machine Safety and Leader Completeness (§5.4): an entry once committed anywhere is the
 * entry at that index in every node's committed prefix, in every life; and it is in the log of
 * every leader of a later term than the one it was committed in (a deposed leader of an older
 * term, say one that was paused, may lack it).
 */
export const raftCommittedPrefixAgrees: InvariantFactory = () => {
  /** Per index: the committed entry, and the term of the node first seen committing it. */
  const committed = new Map<number, { entry: RaftEntry; key: string; term: number }>();
  return {
    name: 'raft-committed-prefix-agrees',
    check(view) {
      for (const node of steppedNodes(view)) {
        const r = raftOf(node);
        if (!r) continue;
        const s = r.raftStatus();
        const entries = new Map(r.logEntries().map((e) => [e.index, e]));
        // The snapshot stands for the committed prefix up to its index: its last entry's term must agree.
        const atSnapshot = committed.get(s.snapshotIndex);
        if (atSnapshot && r.snapshotTerm() !== atSnapshot.entry.term) return `${node.id}'s snapshot at ${s.snapshotIndex} has term ${r.snapshotTerm()}, but the entry committed there has term ${atSnapshot.entry.term}`;
        for (let index = s.snapshotIndex + 1; index <= s.commitIndex; index++) {
          const e = entries.get(index);
          if (!e) return `${node.id} claims commit index ${s.commitIndex} but holds no entry ${index}`;
          const known = committed.get(index);
          if (!known) committed.set(index, { entry: e, key: entryKey(e), term: s.term });
          else if (entryKey(e) !== known.key) return `${node.id} holds ${entryKey(e)} at committed index ${index}, not ${known.key}`;
        }
        if (s.role !== 'leader') continue;
        for (const [index, c] of committed) {
          if (index <= Math.max(s.commitIndex, s.snapshotIndex) || c.term >= s.term) continue;
          const e = entries.get(index);
          if (!e || entryKey(e) !== c.key) return `leader ${node.id} of term ${s.term} lacks ${c.key}, committed at index ${index} in term ${c.term}`;
        }
      }
      return null;
    },
  };
};

/**
 * Terms never decrease at a node, across its restarts: the term on its disk only grows, and a
 * running machine is never below the term on its disk. (A term a machine reached but had not
 * made durable when it crashed may be gone after the restart: nothing was reported or led in
 * it, since every effect but a vote request or a leader's append waits for the write, and a
 * candidate leads only once it is durable, raftLeaderTermDurable.)
 */
export const raftTermsNeverDecrease: InvariantFactory = () => {
  const high = new Map<NodeId, number>();
  return {
    name: 'raft-terms-never-decrease',
    check(view) {
      for (const node of steppedNodes(view)) {
        const durable = (node.persisted('raft') as RaftHardState | null)?.term ?? 0;
        const before = high.get(node.id) ?? 0;
        if (durable < before) return `${node.id}'s disk holds term ${durable} after ${before} (life ${node.life})`;
        high.set(node.id, durable);
        const running = raftOf(node)?.raftStatus().term;
        if (running !== undefined && running < durable) return `${node.id} runs at term ${running}, below the term ${durable} on its disk (life ${node.life})`;
      }
      return null;
    },
  };
};

/**
 * A leader's term, and its vote for itself in it, are on its disk (§5.1, Figure 2: persistent
 * state is updated on stable storage before responding to RPCs). A node leading a term its disk
 * does not hold could crash, come back in the older term, and win this one again with another
 * log: two different entries at one index and term.
 */
export const raftLeaderTermDurable: InvariantFactory = () => ({
  name: 'raft-leader-term-durable',
  check(view) {
    for (const node of steppedNodes(view)) {
      const s = raftOf(node)?.raftStatus();
      if (s?.role !== 'leader') continue;
      const disk = node.persisted('raft') as RaftHardState | null;
      if (disk?.term !== s.term || disk.votedFor !== node.id) return `${node.id} leads term ${s.term}, but its disk holds term ${disk?.term ?? 0} with a vote for ${disk?.votedFor ?? 'nobody'}`;
    }
    return null;
  },
});

/**
 * One configuration change at a time (thesis §4.1, and the 2015 fix): a leader's log never holds
 * more than one configuration entry above its commit index. A second one could let two
 * configurations without a common majority be in use at once.
 */
export const raftOneUncommittedConfig: InvariantFactory = () => ({
  name: 'raft-one-uncommitted-config',
  check(view) {
    for (const node of steppedNodes(view)) {
      const r = raftOf(node);
      const s = r?.raftStatus();
      if (!r || s?.role !== 'leader') continue;
      const pending = r.logEntries().filter((e) => e.index > s.commitIndex && e.data.kind === 'config').map((e) => e.index);
      if (pending.length > 1) return `leader ${node.id} of term ${s.term} holds ${pending.length} uncommitted configuration entries (at ${pending.join(', ')}; commit ${s.commitIndex})`;
    }
    return null;
  },
});

/**
 * Autopilot never shrinks the voters below min(minQuorum, bootstrapExpect) (the simulator issues
 * no operator removals): checked on the configuration every node uses, committed or not.
 */
export function raftVotersFloor(config: RaftConfig = SIM_RAFT_CONFIG): InvariantFactory {
  return (setup) => {
    const floor = Math.min(config.minQuorum, setup.scenario.bootstrapExpect);
    return {
      name: 'raft-voters-floor',
      check(view) {
        for (const node of steppedNodes(view)) {
          const voters = raftOf(node)?.raftStatus().voters ?? [];
          if (voters.length > 0 && voters.length < floor) return `${node.id} uses a configuration of ${voters.length} voters (${voters.join(', ')}), below min(minQuorum, bootstrapExpect) = ${floor}`;
        }
        return null;
      },
    };
  };
}

/**
 * Beyond membership's convergence: stickiness and old leases run out (T, a restarted node's T),
 * then an election timeout up to 2T and a few split or refused rounds.
 */
export function raftAgreementExtraMs(config: RaftConfig = SIM_RAFT_CONFIG): number {
  return 10 * config.electionTimeoutMs;
}

export function raftAgreementBoundMs(setup: { bounds: SimBounds }, config: RaftConfig = SIM_RAFT_CONFIG): number {
  return setup.bounds.convergeMs + raftAgreementExtraMs(config);
}

/**
 * agreed-leader-after-heal, where Raft promises it: once a majority of the configuration's
 * voters is live, and for the bound since. Without one (or before any node bootstrapped), no
 * leader is the correct outcome.
 */
export function raftAgreedLeaderWithLiveVoters(boundMs: (setup: { bounds: SimBounds }) => number): InvariantFactory {
  return (setup) => {
    const inner = agreedLeaderAfterHeal(() => 0)(setup);
    const bound = boundMs(setup);
    let since: number | null = null;
    return {
      name: inner.name,
      check(view) {
        if (view.healedAtMs === null || !liveVoterMajority(view)) {
          since = null;
          return null;
        }
        since ??= Math.max(view.nowMs, view.healedAtMs);
        return view.nowMs < since + bound ? null : inner.check(view);
      },
    };
  };
}

/**
 * Whether a majority of the voters of the newest configuration is live: the one in the most
 * up-to-date log among live nodes (only such a log can win votes). A node with an older log may
 * hold an older configuration of other voters (switch-churn seed 72: a removal and an addition
 * it had not received).
 */
function liveVoterMajority(view: SimView): boolean {
  let newest: { term: number; index: number; voters: NodeId[] } | null = null;
  for (const n of view.nodes) {
    const s = n.live ? raftOf(n)?.raftStatus() : undefined;
    if (!s || s.voters.length === 0) continue;
    if (newest === null || s.lastTerm > newest.term || (s.lastTerm === newest.term && s.lastIndex > newest.index)) newest = { term: s.lastTerm, index: s.lastIndex, voters: s.voters };
  }
  const voters = newest?.voters;
  if (!voters) return false;
  const live = voters.filter((id) => view.nodes.find((n) => n.id === id)?.live).length;
  return live >= majorityOf(voters.length);
}
