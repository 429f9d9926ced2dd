import { type Command, Option } from 'commander';
import { findConfig } from '../../config/load.ts';
import { ROLES, type Role } from '../../roles.ts';
import { stopOnSignals } from '../../stop-on-signals.ts';

export function startCommand(program: Command): void {
  program
    .command('start')
    .description('run the service: API and workers (all), or one of them to scale separately')
    .addOption(new Option('--role <role>', 'what this process runs').choices(ROLES).default('all'))
    .action(async (options: { role: Role }, command: Command) => {
      const globals = command.optsWithGlobals<{ config?: string }>();
      // Loaded here, not at the top: the service pulls in Fastify, bull-board and prom-client, which the
      // other commands never need and would pay for at every start.
      const signals = stopOnSignals();
      const { runService } = await import('../../service.ts');
      const { path, source } = findConfig(globals.config);
      signals.running(await runService({ configPath: path, demo: source === 'demo', role: options.role }));
    });
}
