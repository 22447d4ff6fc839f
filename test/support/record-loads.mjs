// `node --import ./test/support/record-loads.mjs …`: appends every module URL the program loads
// (ESM resolution, CommonJS included through its ESM entry) to $CONCLAVE_RECORD_LOADS, one a line.
// Tests use it to prove the fast paths load no libp2p, blessed, commander or config code.
import { register } from 'node:module';

register('./record-loads-hooks.mjs', import.meta.url);
