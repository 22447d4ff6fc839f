/**
 * Reloading a running daemon's config (`conclave reload` through POST /v1/reload, and SIGHUP):
 * load it again from the file, environment and flags the daemon started with, plan the change
 * (config/reload.ts), hand each live change to the part that runs it, and log what happened. A
 * config that does not load is refused whole: nothing is applied and the running config stays.
 */
import type { MembershipTimings } from '../protocols/membership/types.js';
import type { ProtocolName } from '../protocols/types.js';
import type { ReloadResponse } from './api/types.js';
import { planReload, type ReloadPlan } from './config/reload.js';
import type { ConclaveConfig, LogLevel } from './config/types.js';
import type { ConfigError } from './errors.js';
import type { Logger } from './log.js';

/** What runs the live fields. Each is called only when its fields changed, after the plan is made. */
export interface ReloadTargets {
  setLogLevel(level: LogLevel): void;
  setHooks(hooks: ConclaveConfig['hooks']): void;
  setMembershipTimings(timings: MembershipTimings): void;
  /**
   * Asks the cluster to switch to `protocol` (issue 13's switch) and returns at once, without
   * throwing: the switch happens on the cluster's schedule and reports itself. Absent: a changed
   * `protocol` is listed as needing a restart.
   */
  requestProtocol?: (protocol: ProtocolName) => void;
}

export interface ConfigReloaderInit {
  /** The config the daemon started with. */
  config: ConclaveConfig;
  /** Loads the config from the sources the daemon started with; throws ConfigError. */
  load: () => ConclaveConfig;
  targets: ReloadTargets;
  log: Logger;
}

export class ConfigReloader {
  private running: ConclaveConfig;

  constructor(private readonly init: ConfigReloaderInit) {
    this.running = init.config;
  }

  /** The config the daemon runs with now: as started, plus every change a reload applied. */
  get config(): ConclaveConfig {
    return this.running;
  }

  /**
   * One reload; `trigger` (`SIGHUP`, `api`) is logged. Throws the loader's error (a ConfigError
   * for a config that does not load) after logging it, with nothing applied.
   */
  reload(trigger: string): ReloadResponse {
    const { log } = this.init;
    let next: ConclaveConfig;
    try {
      next = this.init.load();
    } catch (err) {
      if ((err as Error).name === 'ConfigError') {
        const { issues } = err as ConfigError;
        log.error({ trigger, issues }, `config reload refused, still running the previous config: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
      } else {
        log.error({ trigger, err }, 'config reload failed, still running the previous config');
      }
      throw err;
    }
    const plan = planReload(this.running, next, { canSwitchProtocol: this.init.targets.requestProtocol !== undefined });
    this.apply(plan);
    this.running = plan.config;
    const { applied, needsRestart } = plan;
    const describe = (changes: ReloadResponse['applied']) => changes.map((c) => `${c.field} ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}${c.note ? ` (${c.note})` : ''}`).join(', ');
    if (applied.length > 0) log.info({ trigger, applied }, `config reloaded: applied ${describe(applied)}`);
    if (needsRestart.length > 0) log.warn({ trigger, needsRestart }, `config reloaded: changed but in effect only after a restart: ${describe(needsRestart)}`);
    if (applied.length === 0 && needsRestart.length === 0) log.info({ trigger }, 'config reloaded: nothing changed');
    return { applied, needsRestart, unchanged: applied.length === 0 && needsRestart.length === 0 };
  }

  private apply(plan: ReloadPlan): void {
    const { targets } = this.init;
    const touched = (prefix: string) => plan.applied.some((c) => c.field.startsWith(prefix));
    const { config } = plan;
    if (touched('log.level')) targets.setLogLevel(config.log.level);
    if (touched('hooks.')) targets.setHooks(config.hooks);
    if (plan.applied.some((c) => c.field.startsWith('membership.') && c.field !== 'membership.preset')) {
      const { preset: _preset, ...timings } = config.membership;
      targets.setMembershipTimings(timings);
    }
    if (plan.requestProtocol !== null) targets.requestProtocol?.(plan.requestProtocol);
  }
}
