// Asks each control API socket given for /v1/status at once and prints, per socket in order,
// `yes` when it answered 200 within a second and `no` otherwise. One short Node process per
// round instead of one `conclave status` start-up per node keeps `up` from queueing on them.
import { request } from 'node:http';

const PROBE_TIMEOUT_MS = 1000;

function answers(socketPath) {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/v1/status', timeout: PROBE_TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

const results = await Promise.all(process.argv.slice(2).map(answers));
for (const ok of results) console.log(ok ? 'yes' : 'no');
