// For each `conclave status --json` reply file given (empty or missing: no reply), prints the
// columns cluster.sh status shows for that node, tab-separated: role, leader name, term and
// alive/suspect/dead counts; `-` where there was no reply.
import { readFileSync } from 'node:fs';

function summarize(path) {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    // no reply file: the node was not asked
  }
  if (text.trim() === '') return ['-', '-', '-', '-'];
  try {
    const status = JSON.parse(text);
    const members = status.members ?? {};
    return [status.role ?? '?', status.leader?.name ?? '-', status.term ?? '?', `${members.alive ?? 0}/${members.suspect ?? 0}/${members.dead ?? 0}`];
  } catch {
    return ['(bad reply)', '-', '-', '-'];
  }
}

for (const path of process.argv.slice(2)) console.log(summarize(path).join('\t'));
