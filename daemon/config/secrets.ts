/** Config fields that must never be shown: `config print` and reload reports show a placeholder instead. */
import type { ConclaveConfig } from './types.js';

export const REDACTED = '<redacted>';

export function redactSecrets(config: ConclaveConfig): ConclaveConfig {
  return { ...config, api: { ...config.api, token: config.api.token === null ? null : REDACTED } };
}
