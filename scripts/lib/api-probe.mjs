// Asks each control API socket given for /v1/status and prints, per socket in order, `yes` once
// it answered 200 and `no` when it has not within a second. Each socket is asked again every
// 50 ms until it answers, with 250 ms for each try: a daemon still starting may accept a
// connection and answer it only after its start-up work, and one slow socket must not hold up
// the round (a 1 s timeout per round made `up` wait a second for daemons that answered at once
// afterwards). One short Node process per round instead of one `conclave status` start-up per
// node keeps `up` from queueing on them.
//
// With --alive first: asks each socket once for /v1/members and prints how many members it holds
// `alive` (itself included), or 0 when it does not answer within a second. `cluster.sh up` starts
// a large cluster in waves with it: the next wave once every node so far sees all of them alive.
import { request } from 'node:http';

const ROUND_MS = 1000;
const TRY_TIMEOUT_MS = 250;
const RETRY_MS = 50;

/** GET `path` on the socket: the status code and body, or null when there is no answer in time. */
function get(socketPath, path, timeoutMs) {
  return new Promise((resolve) => {
    const req = request({ socketPath, path, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
    req.end();
  });
}

async function answersWithin(socketPath, deadline) {
  for (;;) {
    if ((await get(socketPath, '/v1/status', TRY_TIMEOUT_MS))?.status === 200) return true;
    if (Date.now() + RETRY_MS >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

async function aliveCount(socketPath) {
  const answer = await get(socketPath, '/v1/members', ROUND_MS);
  try {
    const { members } = JSON.parse(answer?.body ?? '');
    return answer.status === 200 && Array.isArray(members) ? members.filter((m) => m.state === 'alive').length : 0;
  } catch {
    return 0;
  }
}

const args = process.argv.slice(2);
const results =
  args[0] === '--alive'
    ? await Promise.all(args.slice(1).map(aliveCount))
    : await Promise.all(args.map((socket) => answersWithin(socket, Date.now() + ROUND_MS).then((ok) => (ok ? 'yes' : 'no'))));
for (const result of results) console.log(result);
