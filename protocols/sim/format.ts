import type { ElectionSummary } from '../types.js';
import type { FaultRecord, StepRecord } from './types.js';

/** One trace line per record: short, stable, greppable. */
export function formatRecord(record: StepRecord): string {
  switch (record.type) {
    case 'fault':
      return `fault ${formatFault(record.fault)}`;
    case 'membership': {
      const e = record.event;
      switch (e.type) {
        case 'member-joined':
        case 'member-updated':
          return `${record.node} ${e.type} ${e.member.id} ${e.member.state} inc=${e.member.incarnation}`;
        case 'member-suspect':
          return `${record.node} member-suspect ${e.id} inc=${e.incarnation} (${e.reason})`;
        case 'member-alive':
          return `${record.node} member-alive ${e.id} inc=${e.incarnation} was ${e.previous}`;
        case 'member-dead':
          return `${record.node} member-dead ${e.id} inc=${e.incarnation} after ${e.suspectedForMs}ms`;
        case 'refuted':
          return `${record.node} refuted inc=${e.incarnation} by ${e.by}`;
        case 'protocol-mismatch':
          return `${record.node} protocol-mismatch ${e.id} ${e.protocol}`;
        case 'protocol-switch-started':
          return `${record.node} protocol-switch-started to=${e.to} era=${e.era} (${e.why})`;
        case 'protocol-switched':
          return `${record.node} protocol-switched ${e.from} -> ${e.to} era=${e.era} (${e.how}) floor=${e.tokenFloor}`;
        default:
          return `${record.node} ${e.type} ${e.id}`;
      }
    }
    case 'summary':
      return `${record.node} summary ${formatSummary(record.from)} -> ${formatSummary(record.to)}`;
    case 'election':
      return `${record.node} ${record.event} term=${record.term} ${record.detail}`;
    case 'refused':
      return `${record.node} refused ${record.reason} from ${record.from}`;
  }
}

function formatSummary(s: ElectionSummary): string {
  return `${s.role}/t${s.term}/${s.leader ?? '-'}/f${s.fencingToken}`;
}

function formatFault(f: FaultRecord): string {
  switch (f.kind) {
    case 'start':
    case 'restart':
      return `${f.kind} ${f.node} inc=${f.incarnation}`;
    case 'crash':
    case 'stop':
    case 'resign':
    case 'exit':
    case 'pause':
      return `${f.kind} ${f.node}`;
    case 'resume':
      return `resume ${f.node} after ${f.pausedMs}ms`;
    case 'stall':
      return `stall ${f.node} ${f.durationMs}ms`;
    case 'partition':
      return `partition ${f.groups.map((g) => g.join(',')).join(' | ')}`;
    case 'cut':
    case 'uncut':
      return `${f.kind} ${f.from}>${f.to}`;
    case 'network':
      return `network loss=${f.lossProbability} dup=${f.duplicateProbability}`;
    case 'configure':
      return `configure ${f.node} protocol=${f.protocol}${f.reload ? ' (reload)' : ''}`;
    case 'order':
      return `order ${f.node} protocol switch ${f.protocol}`;
    case 'heal':
    case 'liveness':
      return f.kind;
  }
}
