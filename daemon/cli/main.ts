#!/usr/bin/env node
/**
 * The `conclave` command's entry (bin/conclave runs it). It first turns on V8's compile cache
 * (Node 22.1 and later; older runtimes have none), so that a command run again loads its
 * modules as cached bytecode instead of compiling them; only then does it load any of them.
 * `status`, `leader` and `is-leader` in their plain forms are answered by quick.ts; every other
 * command line goes to the full program (program.ts, with commander).
 */
import module from 'node:module';

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { runQuick } = await import('./quick.js');
if (!(await runQuick(process.argv))) {
  const { main } = await import('./program.js');
  await main(process.argv);
}
// Once a command is done, a handle left open (a libp2p socket, a timer) must not keep the
// process alive. Unref'd: fires only if something still holds the event loop open.
setTimeout(() => process.exit(), 1000).unref();
