/**
 * `conclave config check FILE` validates one file as a daemon would load it (exit 0 `ok: FILE`,
 * or every problem and exit 2). `conclave config print` shows the effective config, token redacted.
 */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { loadConfig } from '../config/load.js';
import { redactSecrets } from '../config/secrets.js';
import { addConfigFlags, readConfigFlags } from './start.js';

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('check or print configuration');

  config
    .command('check')
    .description('validate a config file; exit 2 with every problem listed if it is invalid')
    .argument('<file>', 'config file (YAML or JSON)')
    .action((file: string) => {
      // The file alone: CONCLAVE_* variables of the shell running the check must not mask or
      // cause problems in it. HOME and XDG_STATE_HOME still shape the default data dir.
      loadConfig({ file, env: withoutConclaveVars(process.env), flags: {} });
      process.stdout.write(`ok: ${file}\n`);
    });

  addConfigFlags(config.command('print').description('print the effective config (defaults < file < env < flags)'))
    .option('--json', 'print JSON instead of YAML')
    .action((opts: { json?: boolean }, command: Command) => {
      const { file, flags } = readConfigFlags(command);
      const effective = redactSecrets(loadConfig({ file, flags }));
      process.stdout.write(opts.json ? `${JSON.stringify(effective, null, 2)}\n` : stringify(effective));
    });
}

function withoutConclaveVars(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('CONCLAVE_')));
}
