/**
 * `node:http`, taken without an ES module import. Importing a builtin as an ES module reads every
 * one of its exports, and on Node 22 and later `http` exports lazy getters (its WebSocket and
 * event classes) whose first read loads undici and TLS: about 40 ms, a fifth of what
 * `conclave status` took, for classes nothing here uses. The module object
 * `process.getBuiltinModule` returns (Node 20.16 and later) loads nothing it is not asked for.
 */
export const http = process.getBuiltinModule('node:http');
