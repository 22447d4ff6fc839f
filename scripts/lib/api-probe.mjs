// Asks each control API socket given for /v1/status and prints, per socket in order, `yes` once
// it answered 200 and `no` when it has not within a second. Each socket is asked again every
// 50 ms until it answers, with 250 ms for each try: a daemon still starting may accept a
// connection and answer it only after its start-up work, and one slow socket must not hold up
// the round (a 1 s timeout per round made `up` wait a second for daemons that answered at once
// afterwards). One short Node process per round instead of one `conclave status` start-up per
// node keeps `up` from queueing on them.
import { request } from 'node:http';

const ROUND_MS = 1000;
const TRY_TIMEOUT_MS = 250;
const RETRY_MS = 50;

function answers(socketPath) {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/v1/status', timeout: TRY_TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

async function answersWithin(socketPath, deadline) {
  for (;;) {
    if (await answers(socketPath)) return true;
    if (Date.now() + RETRY_MS >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

const deadline = Date.now() + ROUND_MS;
const results = await Promise.all(process.argv.slice(2).map((socket) => answersWithin(socket, deadline)));
for (const ok of results) console.log(ok ? 'yes' : 'no');
