import type { MembershipTimings } from './types.js';

/** Named membership timings (memberlist's DefaultLANConfig / DefaultLocalConfig / DefaultWANConfig). */
export const MEMBERSHIP_PRESETS: Record<'lan' | 'local' | 'wan', MembershipTimings> = {
  lan: { heartbeatIntervalMs: 300, suspectAfterMs: 1200, suspicionMinMs: 600, suspicionMaxMs: 2000, forgetAfterMs: 60_000, maxHealthMultiplier: 4 },
  local: { heartbeatIntervalMs: 200, suspectAfterMs: 1000, suspicionMinMs: 500, suspicionMaxMs: 1500, forgetAfterMs: 30_000, maxHealthMultiplier: 4 },
  wan: { heartbeatIntervalMs: 1000, suspectAfterMs: 5000, suspicionMinMs: 3000, suspicionMaxMs: 10_000, forgetAfterMs: 300_000, maxHealthMultiplier: 8 },
};
