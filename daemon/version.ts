import { createRequire } from 'node:module';

/** The daemon's software version, gossiped to peers and served by the API. */
export const VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
