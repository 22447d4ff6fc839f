/** Runs the dashboard against the addresses given as arguments (for the end-to-end test and by hand). */
import '../../daemon/polyfill.js';
import { runTui } from '../../tui/main.js';

await runTui({ apis: process.argv.slice(2), token: null });
process.exit(0);
