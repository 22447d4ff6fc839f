/**
 * The command chaos runs under `conclave run` on every node: it appends a `start` line to the file
 * it is given when it starts and a `stop` line when it is told to stop (SIGTERM or SIGINT), each
 * with the node, the fencing token and the wall clock, then exits. The chaos recorder reads the
 * file after the run: two nodes' jobs alive at once is what `conclave run` promises never happens.
 * `node job.js FILE`.
 */
import { appendFileSync } from 'node:fs';

const [file] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node job.js FILE\n');
  process.exit(2);
}
const record = (event: 'start' | 'stop') =>
  appendFileSync(file, `${JSON.stringify({ event, node: process.env.CONCLAVE_NODE_NAME ?? null, token: Number(process.env.CONCLAVE_FENCING_TOKEN), term: Number(process.env.CONCLAVE_TERM), pid: process.pid, wallMs: Date.now() })}\n`);
record('start');
const stop = () => {
  record('stop');
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Keeps the process alive until told to stop.
setInterval(() => undefined, 60_000);
