/**
 * The daemon's own code on the path of a take-over, loaded ahead of daemon.ts with V8's lazy
 * compilation off (loadDaemon, cli/start.ts), so that every function in it has its bytecode from
 * the start instead of being compiled the first time it runs.
 *
 * A node that never led runs most of its leader code for the first time in the middle of a
 * hand-off: the successor's campaign, its becoming leader and its first rounds. Compiled then,
 * that code cost the successor some 6 ms of CPU inside a SIGTERM hand-off on two cores shared by
 * five daemons (V8's function log: parse and compile, ±20 ms around it), on the path every
 * follower waits on (README "Fail-over"). Only this code: libp2p, the API's HTTP and its
 * metrics stay lazy (all of it compiled eagerly, `--no-lazy`, costs about 20 MB a daemon), and
 * what is loaded already (the config and its schema library, loaded by `start`) is not compiled
 * again. Importing these modules runs nothing of theirs but their definitions.
 */
import './protocols.js';
import './runtime.js';
import './storage/index.js';
import './hooks/runner.js';
import './p2p/channel.js';
import './p2p/inbound.js';
