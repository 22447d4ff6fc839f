// Reads one `conclave status --json` document on stdin and prints the columns cluster.sh
// status shows for a node, tab-separated: role, leader name, term, alive/suspect/dead counts.
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', () => {
  try {
    const status = JSON.parse(input);
    const members = status.members ?? {};
    const counts = `${members.alive ?? 0}/${members.suspect ?? 0}/${members.dead ?? 0}`;
    console.log([status.role ?? '?', status.leader?.name ?? '-', status.term ?? '?', counts].join('\t'));
  } catch {
    console.log(['(bad reply)', '-', '-', '-'].join('\t'));
  }
});
