/**
 * Where the host core's persist batches land (runtime.ts NodeDisk): the election's hard state in
 * its state file and the membership incarnation in its own file, each replaced atomically and
 * fsynced (store.ts). A failed write rejects with PersistError naming the file; the runtime then
 * stops the daemon, so memory and disk never disagree.
 */
import type { NodeBatch } from '../protocols/host/core.js';
import { saveIncarnation } from './incarnation.js';
import type { NodeDisk } from './runtime.js';
import type { StateStore } from './store.js';

export function createFileDisk(dataDir: string, electionStore: StateStore<unknown> | null): NodeDisk {
  return {
    async write(batch: NodeBatch): Promise<void> {
      const election = batch.election;
      if (election) {
        if (election.entries !== undefined || election.snapshot !== undefined || election.truncateAfter !== undefined) {
          throw new Error('this disk holds hard state only; a log-based machine needs the log store');
        }
        if (election.hardState !== undefined) {
          if (!electionStore) throw new Error('the election asked to persist state but its protocol has no state file');
          electionStore.save(election.hardState);
        }
      }
      if (batch.incarnation !== undefined) saveIncarnation(dataDir, batch.incarnation);
    },
  };
}
