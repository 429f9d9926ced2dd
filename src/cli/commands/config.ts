import type { Command } from 'commander';
import { stringify } from 'yaml';
import { type ConfigChoice, findConfig, loadConfigFile } from '../../config/load.ts';
import { maskSecrets } from '../../config/mask.ts';

const HOW_CHOSEN: Record<ConfigChoice['source'], string> = {
  '--config': 'named by --config',
  PURGE_CONFIG: 'named by PURGE_CONFIG',
  'working directory': 'found in the working directory',
  demo: 'the bundled demo: no config found',
};

export function configCommand(program: Command): void {
  const config = program.command('config').description('check a config file');
  config
    .command('check')
    .description(
      'validate the config (-c, else the one `start` would use) and print it resolved, secrets masked; exit 2 naming each bad field',
    )
    .option('--json', 'print JSON instead of YAML')
    .action(async (options: { json?: boolean }, command: Command) => {
      const globals = command.optsWithGlobals<{ config?: string }>();
      const { path, source } = findConfig(globals.config);
      // Resolved: placeholders filled from the environment, defaults filled in; an invalid file throws a
      // CONFIG_INVALID naming every bad field, which the CLI turns into exit 2.
      const masked = maskSecrets(await loadConfigFile(path));
      if (options.json) {
        process.stdout.write(`${JSON.stringify(masked, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        `# ${path} (${HOW_CHOSEN[source]}) is valid; secrets masked\n${stringify(masked)}`,
      );
    });
}
