// Asks each control API socket given for /v1/members and prints, per socket in order, how many
// members it holds `alive` (itself included), or 0 when it does not answer within a second.
// `cluster.sh up` uses it to start a large cluster in waves: the next wave starts once every
// node started so far sees all of them alive. One short Node process per round, as api-probe.mjs.
import { request } from 'node:http';

const TRY_TIMEOUT_MS = 1000;

function aliveCount(socketPath) {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/v1/members', timeout: TRY_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => {
        try {
          const { members } = JSON.parse(body);
          resolve(res.statusCode === 200 && Array.isArray(members) ? members.filter((m) => m.state === 'alive').length : 0);
        } catch {
          resolve(0);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

const counts = await Promise.all(process.argv.slice(2).map(aliveCount));
for (const count of counts) console.log(count);
