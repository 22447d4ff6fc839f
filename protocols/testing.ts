/**
 * What every socket-free test cluster of election machines shares (bully/testing.ts,
 * raft/testing.ts, after etcd-raft's raft_test.go network): running virtual time until a
 * condition holds, and driving leadership commands and shutdowns through a node. Each cluster
 * brings its own machines, network, membership model and `advance`. Also `compilations`, which
 * counts the parsers zod compiles, for the tests of codecs that compile theirs ahead (`warm`).
 */
import type { CommandResult, Election, LeadershipCommand } from './election.js';
import type { NodeId } from './types.js';

export abstract class TestCluster {
  abstract nowMs: number;
  abstract readonly tickMs: number;
  /** Every command result, by command id. */
  readonly results = new Map<number, CommandResult>();
  private nextCommandId = 1;

  /** Advances virtual time by `ms`, ticking and delivering. */
  abstract advance(ms: number): void;
  /** Delivers what is queued until quiet. */
  abstract pump(): void;
  /** The running machine of `id` (throws if it is down). */
  abstract machine(id: NodeId): Election<unknown, unknown>;

  /** Advances until `done()` holds or `maxMs` passes; returns whether it held. */
  advanceUntil(done: () => boolean, maxMs: number): boolean {
    const until = this.nowMs + maxMs;
    while (!done()) {
      if (this.nowMs >= until) return false;
      this.advance(this.tickMs);
    }
    return true;
  }

  command(id: NodeId, command: LeadershipCommand): number {
    const commandId = this.nextCommandId++;
    this.machine(id).step({ type: 'command', nowMs: this.nowMs, id: commandId, command });
    this.pump();
    return commandId;
  }

  /** Runs a command and returns its result (it must have one after `maxMs`). */
  run(id: NodeId, command: LeadershipCommand, maxMs = 5000): CommandResult {
    const commandId = this.command(id, command);
    this.advanceUntil(() => this.results.has(commandId), maxMs);
    const result = this.results.get(commandId);
    if (!result) throw new Error(`no result for ${command.kind} at ${id} within ${maxMs} ms`);
    return result;
  }

  shutdown(id: NodeId): void {
    this.machine(id).step({ type: 'shutdown', nowMs: this.nowMs });
    this.pump();
  }
}

/** How many parsers zod compiles (`new Function`) while `run` runs. */
export function compilations(run: () => void): number {
  const original = globalThis.Function;
  let count = 0;
  globalThis.Function = new Proxy(original, {
    construct(target, args) {
      count++;
      return Reflect.construct(target, args);
    },
  });
  try {
    run();
  } finally {
    globalThis.Function = original;
  }
  return count;
}
