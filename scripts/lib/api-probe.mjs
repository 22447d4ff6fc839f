// Asks each control API socket given for /v1/status and prints, per socket in order, `yes` once
// it answered 200 within a second; `slow` when it accepted a connection but gave no answer in
// that second (the daemon runs, its event loop is starved or stuck: the caller says so rather
// than "did not answer"); `no` when nothing accepted a connection. A try that cannot connect
// gives up after 250 ms and is made again every 50 ms (a daemon still starting has no socket yet,
// and one slow socket must not hold up the round: a 1 s timeout per round made `up` wait a second
// for daemons that answered at once afterwards); a try that connected waits for its answer until
// the round ends (on a machine running 40 daemons an answer took over 250 ms, and tries of 250 ms
// never saw one). One short Node process per round instead of one `conclave status` start-up per
// node keeps `up` from queueing on them.
//
// With --alive first: asks each socket once for /v1/members and prints how many members it holds
// `alive` (itself included), or 0 when it does not answer within a second. `cluster.sh up` starts
// a large cluster in waves with it: the next wave once every node so far sees all of them alive.
//
// With --leader first: asks each socket once for /v1/status and prints the name of the leader it
// names, or `-` when it names none or does not answer within a second. `up` waits with it for
// the first wave to elect before the next one joins (cluster.sh up_in_waves).
import { request } from 'node:http';

const ROUND_MS = 1000;
const CONNECT_TIMEOUT_MS = 250;
const RETRY_MS = 50;

/**
 * GET `path` on the socket: `{ status, body }`, or `{ connected }` when there is no answer, where
 * `connected` says whether the socket accepted the connection. No connection within
 * `connectMs` gives up; a connection waits for its answer until `deadline`.
 */
function get(socketPath, path, connectMs, deadline) {
  return new Promise((resolve) => {
    let connected = false;
    let timer;
    const req = request({ socketPath, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode, body });
      });
    });
    const giveUp = () => req.destroy();
    timer = setTimeout(giveUp, Math.min(connectMs, Math.max(0, deadline - Date.now())));
    req.on('socket', (socket) =>
      socket.on('connect', () => {
        connected = true;
        clearTimeout(timer);
        timer = setTimeout(giveUp, Math.max(0, deadline - Date.now()));
      }),
    );
    req.on('error', () => {
      clearTimeout(timer);
      resolve({ connected });
    });
    req.end();
  });
}

/** `yes`, `slow` or `no` for one socket within one round (see the top). */
async function probe(socketPath, deadline) {
  let accepted = false;
  for (;;) {
    const answer = await get(socketPath, '/v1/status', CONNECT_TIMEOUT_MS, deadline);
    if (answer.status === 200) return 'yes';
    // A status other than 200 is an answer (`no`); `slow` is for a socket that never answered at all.
    accepted ||= answer.connected === true;
    if (Date.now() + RETRY_MS >= deadline) return accepted ? 'slow' : 'no';
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

async function aliveCount(socketPath) {
  const deadline = Date.now() + ROUND_MS;
  const answer = await get(socketPath, '/v1/members', ROUND_MS, deadline);
  try {
    const { members } = JSON.parse(answer.body ?? '');
    return answer.status === 200 && Array.isArray(members) ? members.filter((m) => m.state === 'alive').length : 0;
  } catch {
    return 0;
  }
}

async function leaderName(socketPath) {
  const deadline = Date.now() + ROUND_MS;
  const answer = await get(socketPath, '/v1/status', ROUND_MS, deadline);
  try {
    const { leader } = JSON.parse(answer.body ?? '');
    return answer.status === 200 && typeof leader?.name === 'string' && leader.name !== '' ? leader.name : '-';
  } catch {
    return '-';
  }
}

const args = process.argv.slice(2);
const modes = { '--alive': aliveCount, '--leader': leaderName };
const results =
  args[0] in modes
    ? await Promise.all(args.slice(1).map(modes[args[0]]))
    : await Promise.all(args.map((socket) => probe(socket, Date.now() + ROUND_MS)));
for (const result of results) console.log(result);
