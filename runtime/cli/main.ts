#!/usr/bin/env node
// The lifo4 command: `lifo4 start` (all-in-one), `lifo4 sim`, `lifo4 edge`, `lifo4 cloud`.
// Every flag comes from the settings table in settings.ts, so --help, LIFO4_* variables and the
// config file always name the same settings.
import { Command, Option } from 'commander';
import type { Role, SettingKey, SettingsFor } from '../../settings';
import { CONFIG_ERROR_EXIT, FIELDS, ROLE_KEYS, SettingsError, loadSettings } from '../../settings';
import { NodeRedMissingError, nodeRedPackageJson, packageVersion } from '../package-info';
import { SecretsError } from '../secrets';
import { addLintCommand } from './lint-command';
import { addMlCommand } from './ml-command';
import { addAgentCommand } from './agent-command';
import { addImageCommand } from './image-command';
import { addUserCommand } from './user-command';
import { addCertCommand, addSiteCommand } from './site-command';

function describe(key: SettingKey): string {
  const def = FIELDS[key];
  const dflt = def.default !== undefined ? `, default ${String(def.default)}` : '';
  return `${def.describe} (env ${def.env}${dflt})`;
}

/** Adds the role's setting flags; returns a reader giving the flags that were actually given. */
function addSettingOptions(cmd: Command, role: Role): () => { flags: Partial<Record<SettingKey, string>>; configFlag?: string } {
  const byAttribute = new Map<string, SettingKey>();
  for (const key of ROLE_KEYS[role]) {
    const def: { repeatable?: boolean } = FIELDS[key];
    const option = new Option(`${FIELDS[key].flag} <${FIELDS[key].arg}>`, describe(key));
    if (def.repeatable) option.argParser((value: string, previous: string | undefined) => (previous === undefined ? value : `${previous},${value}`));
    byAttribute.set(option.attributeName(), key);
    cmd.addOption(option);
  }
  cmd.addOption(new Option('--config <FILE>', 'JSON file of settings, keys as in the README (env LIFO4_CONFIG)'));
  return () => {
    const opts = cmd.opts<Record<string, string | undefined>>();
    const flags: Partial<Record<SettingKey, string>> = {};
    for (const [attribute, key] of byAttribute) {
      const value = opts[attribute];
      if (value !== undefined) flags[key] = value;
    }
    return opts.config !== undefined ? { flags, configFlag: opts.config } : { flags };
  };
}

function fail(command: string, err: unknown): never {
  if (err instanceof SettingsError || err instanceof SecretsError || err instanceof NodeRedMissingError) {
    console.error(`lifo4 ${command}: ${err.message}`);
    process.exit(CONFIG_ERROR_EXIT);
  }
  console.error(`lifo4 ${command}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
}

function roleCommand<R extends Role>(
  program: Command,
  name: string,
  role: R,
  summary: string,
  run: (settings: SettingsFor<R>) => Promise<number | void>,
): Command {
  const cmd = program.command(name).description(summary);
  const given = addSettingOptions(cmd, role);
  cmd.action(async () => {
    let settings: SettingsFor<R>;
    try {
      settings = loadSettings(role, given());
    } catch (err) {
      fail(name, err);
    }
    try {
      // Every role but the simulator runs Node-RED: say what to install before starting anything.
      if (role !== 'sim') nodeRedPackageJson();
      const code = await run(settings);
      if (typeof code === 'number') process.exit(code);
    } catch (err) {
      fail(name, err);
    }
  });
  return cmd;
}

export function buildProgram(): Command {
  const program = new Command('lifo4')
    .description('LiFePO4 EMS: energy management for LiFePO4 battery storage as a Node-RED flow runtime')
    .version(packageVersion);

  roleCommand(
    program,
    'start',
    'all',
    'all-in-one: run the simulator, an edge runtime and the cloud runtime as supervised child processes',
    async (settings) => {
      const { runSupervisor } = await import('../supervisor/supervisor.js');
      return runSupervisor(settings);
    },
  );
  roleCommand(program, 'sim', 'sim', 'run the LFP site simulator (SunSpec over Modbus TCP, control API over HTTP)', async (settings) => {
    const { runSim } = await import('./role-process.js');
    await runSim(settings);
  });
  roleCommand(program, 'edge', 'edge', "run one site's edge runtime (Node-RED with the site's flows, editor at /editor)", async (settings) => {
    const { runNodeRedRole } = await import('./role-process.js');
    await runNodeRedRole(settings);
  });
  roleCommand(program, 'cloud', 'cloud', 'run the cloud runtime (REST API at /api/v1, editor at /editor)', async (settings) => {
    const { runNodeRedRole } = await import('./role-process.js');
    await runNodeRedRole(settings);
  });
  addUserCommand(program);
  addImageCommand(program);
  addSiteCommand(program);
  addCertCommand(program);
  addAgentCommand(program);
  addMlCommand(program);
  addLintCommand(program);
  return program;
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => fail('', err));
}
