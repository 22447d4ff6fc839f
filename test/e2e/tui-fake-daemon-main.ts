/** `node dist/test/e2e/tui-fake-daemon-main.js SOCKET`: a fake daemon to point a dashboard at by hand. */
import { FakeDaemon } from './tui-fake-daemon.js';

const daemon = new FakeDaemon(process.argv[2] ?? '/tmp/conclave-tui-fake.sock');
await daemon.start();
const names = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
let turn = 0;
setInterval(() => daemon.changeLeader(names[++turn % names.length]!), 5000);
setInterval(() => daemon.source.emit({ type: 'member-updated', member: daemon.source.memberList[1] }), 700);
process.on('SIGINT', () => void daemon.stop().then(() => process.exit(0)));
