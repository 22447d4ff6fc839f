/**
 * Conclave's client library: `import { Conclave } from 'conclave'`. A Node program asks its
 * local daemon who leads, follows its events, and runs work only while its node leads, with the
 * fencing token to hand to storage. Loads only node: built-ins and the API client (zod on the
 * first event stream), never libp2p, blessed or the daemon's config.
 *
 * @example
 * import { Conclave } from 'conclave';
 * const conclave = new Conclave({ api: 'unix:/var/lib/conclave/api.sock' });
 * await conclave.lead({
 *   async onStartedLeading(signal, token) {
 *     while (!signal.aborted) await doOneBatch({ fencingToken: token, signal });
 *   },
 * });
 */
export { Conclave, type ConclaveOptions, type CommandResponse, type DisconnectedEvent, type KnownLeader, type WatchEvent } from './conclave.js';
export type { CampaignOptions, ElectionLeadership } from './campaign.js';
export type { LeadCallbacks, LeadOptions } from './lead.js';
export type { LeaderInfo, Leadership, StopReason } from './leadership.js';
export { ApiError, ApiUnreachableError, LeaderTimeoutError, LeadershipLostError, NotConclaveApiError, SessionEndedError, UsageError } from './errors.js';
export type { ElectionLeader } from '../protocols/kv/election.js';
export type {
  ApiEvent,
  ElectionObserved,
  LeaderResponse,
  MemberResponse,
  NodeRef,
  SnapshotEvent,
  StatusResponse,
  StreamEvent,
  StreamEventType,
} from '../daemon/api/types.js';
