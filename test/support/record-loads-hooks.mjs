// Loader hooks for record-loads.mjs: runs off the main thread, so it writes synchronously to the file.
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (process.env.CONCLAVE_RECORD_LOADS) appendFileSync(process.env.CONCLAVE_RECORD_LOADS, `${result.url}\n`);
  return result;
}
