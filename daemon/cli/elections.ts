/**
 * `conclave elections [ls]|show|campaign|observe|resign`: named elections (Raft only) through one
 * daemon's control API, with the flags and failure reporting of the other reporting commands.
 * `campaign` is `etcdctl elect`: it holds a candidate until interrupted, prints when it leads, and
 * exits 1 when that leadership is lost; `observe` prints the leader, then each change.
 *
 * Exit codes: 0 ok (for campaign and observe: interrupted); 1 the daemon cannot be reached, the
 * API refuses (not-raft under bully, session-not-found), or a campaign's leadership was lost;
 * 2 usage. Like the modules report.ts loads, nothing heavy is loaded here.
 */
import type { Command } from 'commander';
import { campaign, DEFAULT_SESSION_TTL_MS } from '../../client/campaign.js';
import { LeadershipLostError } from '../../client/errors.js';
import { isTransient, reconnectDelayMs, sleep } from '../../client/follow.js';
import { electionNameProblem, type ElectionLeader } from '../../protocols/kv/election.js';
import type { ElectionObserved } from '../api/types.js';
import { UsageError } from '../errors.js';
import { apiCommand, integerArg } from './report.js';
import { client, interruption, json, processIo, reporting, type ApiFlags, type ReportIo } from './report-actions.js';

type ElectionFlags = ApiFlags & { serializable?: boolean; value?: string; ttlMs?: number; session?: string };

/** A campaign whose leadership ended other than by Ctrl-C: scripts test for it. */
export class LeadershipEndedError extends Error {
  override readonly name = 'LeadershipEndedError';
  readonly exitCode = 1;
}

export function registerElectionCommands(program: Command, io: ReportIo = processIo()): void {
  const elections = program
    .command('elections')
    .description('named elections on the key-value store (raft only): ls, show, campaign, observe, resign')
    .addHelpText('after', '\nEach election NAME has its own leader and fencing token: the candidate whose key is oldest leads,\n' +
      'and its key\'s create revision is its token. Exit status: 0 ok; 1 daemon unreachable, an API error\n' +
      '(not-raft under bully), or a campaign\'s leadership lost; 2 usage.');

  apiCommand(elections, 'ls', 'list the elections that have candidates: NAME, leader value, token, candidates')
    .option('--serializable', "read this node's own store, possibly stale")
    .action((flags: ElectionFlags) => reporting(flags, io, async () => {
      const reply = await client(flags).elections({ serializable: flags.serializable === true });
      if (flags.json) io.out(json(reply));
      else io.out(reply.elections.map((e) => `${e.name}\t${e.leader ? `${shown(e.leader)}\ttoken ${e.leader.token}` : 'no leader\t-'}\t${e.candidates} candidate${e.candidates === 1 ? '' : 's'}\n`).join(''));
    }));

  apiCommand(elections, 'show', 'print the leader of NAME and its candidates in the order they would lead')
    .argument('<name>', 'the election')
    .option('--serializable', "read this node's own store, possibly stale")
    .action((name: string, flags: ElectionFlags) => reporting(flags, io, async () => {
      const reply = await client(flags).election(checkName(name), { serializable: flags.serializable === true });
      if (flags.json) {
        io.out(json(reply));
        return;
      }
      io.out(`${name}: ${reply.leader ? `led by ${shown(reply.leader)} under fencing token ${reply.leader.token}` : 'no leader'} (revision ${reply.revision})\n`);
      for (const [i, c] of reply.candidates.entries()) io.out(`  ${i === 0 ? 'leader ' : 'waiting'}  token ${c.token}  ${c.value === '' ? `session ${c.session}` : c.value}\n`);
    }));

  apiCommand(elections, 'campaign', 'stand in NAME until interrupted; print when leading (etcdctl elect)')
    .argument('<name>', 'the election')
    .option('--value <text>', 'what observers read as this candidate (default: empty)')
    .option('--ttl-ms <ms>', `session time to live: how long the leadership can outlive this process (default ${DEFAULT_SESSION_TTL_MS})`, integerArg(1000))
    .addHelpText('after', '\nPrints `leading NAME with fencing token N` once it leads. Ctrl-C or SIGTERM resigns (the next\n' +
      'candidate leads) and exits 0; the leadership lost (its session ended, or no keep-alive got through\n' +
      'within the TTL) exits 1.')
    .action((name: string, flags: ElectionFlags) => reporting(flags, io, async () => {
      const { signal, release } = interruption(io);
      try {
        const api = client(flags);
        const reign = await campaign(api, checkName(name), { ...(flags.value !== undefined ? { value: flags.value } : {}), ...(flags.ttlMs !== undefined ? { ttlMs: flags.ttlMs } : {}), signal }).catch((err: unknown) => {
          if (signal.aborted) return null;
          throw err;
        });
        if (reign === null) return;
        io.out(flags.json ? `${JSON.stringify({ leading: name, fencingToken: reign.fencingToken, key: reign.key, session: reign.session })}\n` : `leading ${name} with fencing token ${reign.fencingToken}\n`);
        await new Promise<void>((resolve) => {
          if (reign.signal.aborted || signal.aborted) resolve();
          reign.signal.addEventListener('abort', () => resolve(), { once: true });
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
        if (signal.aborted) {
          await reign.resign();
          return;
        }
        const reason = reign.signal.reason instanceof LeadershipLostError ? reign.signal.reason.reason : 'lost';
        throw new LeadershipEndedError(`leadership of ${name} under fencing token ${reign.fencingToken} ended: ${reason === 'lease-expired' ? 'no keep-alive got through within the session TTL' : 'its session ended or its key was deleted'}`);
      } finally {
        release();
      }
    }));

  apiCommand(elections, 'observe', 'print the leader of NAME, then each change, until interrupted')
    .argument('<name>', 'the election')
    .addHelpText('after', '\nOutput: one line per leader, `NAME: VALUE (token N) @REVISION` or `NAME: no leader @REVISION`;\n' +
      '--json: one JSON object per line. Reconnects on its own, each time printing the leader as it is then.')
    .action((name: string, flags: ElectionFlags) => reporting(flags, io, async () => {
      const { signal, release } = interruption(io);
      const api = client(flags);
      let last: string | null = null;
      const print = (o: ElectionObserved) => {
        const line = flags.json ? JSON.stringify(o) : `${name}: ${o.leader ? `${shown(o.leader)} (token ${o.leader.token})` : 'no leader'} @${o.revision}`;
        const same = JSON.stringify(o.leader);
        if (same === last) return;
        last = same;
        io.out(`${line}\n`);
      };
      try {
        for (let attempt = 0; !signal.aborted; ) {
          try {
            await api.electionObserve(checkName(name), print, { signal, onOpen: () => (attempt = 1) });
          } catch (err) {
            if (!isTransient(err)) throw err;
          }
          if (signal.aborted) return;
          await sleep(reconnectDelayMs(attempt++), signal).catch(() => undefined);
        }
      } finally {
        release();
      }
    }));

  apiCommand(elections, 'resign', "withdraw SESSION's candidate from NAME (a campaign of another process)")
    .argument('<name>', 'the election')
    .requiredOption('--session <id>', 'the session the candidate campaigned with')
    .option('--fencing-token <n>', 'only if its key still has this create revision', integerArg(1))
    .action((name: string, flags: ElectionFlags & { fencingToken?: number }) => reporting(flags, io, async () => {
      const reply = await client(flags).electionResign(checkName(name), flags.session!, flags.fencingToken);
      io.out(flags.json ? json(reply) : `${reply.resigned ? 'resigned' : 'no such candidate'} at revision ${reply.revision}\n`);
    }));
}

function shown(leader: ElectionLeader): string {
  return leader.value === '' ? `session ${leader.session ?? '?'}` : leader.value;
}

function checkName(name: string): string {
  const problem = electionNameProblem(name);
  if (problem !== null) throw new UsageError(problem);
  return name;
}
