/**
 * The daemon's own code on the path of a take-over, loaded ahead of daemon.ts with V8's lazy
 * compilation off (loadDaemon, cli/start.ts), so that every function in it has its bytecode from
 * the start instead of being compiled the first time it runs.
 *
 * A node that never led runs most of its leader code for the first time in the middle of a
 * hand-off: the successor's campaign, its becoming leader and its first rounds. Compiled then,
 * that code cost the successor some 6 ms of CPU inside a SIGTERM hand-off on two cores shared by
 * five daemons (V8's function log, ±20 ms around it), on the path every follower waits on
 * (README "Hand-off"). So the Raft machine, the host core that runs it and the runtime that
 * carries out its effects are compiled whole: 7 ms more to load them (26 against 19, cached
 * bytecode warm). Not the rest: the Bully machine, membership, the log store and the message
 * channels run all the time on every node anyway, and with them loading took 26 ms more;
 * libp2p, the API's HTTP and the metrics stay lazy too (all of it eager, `--no-lazy`, costs
 * about 20 MB a daemon). What `start` loaded before (the config and its schema library) is not
 * compiled again. Importing these modules runs nothing of theirs but their definitions.
 */
import '../protocols/raft/index.js';
import '../protocols/host/core.js';
import './runtime.js';
