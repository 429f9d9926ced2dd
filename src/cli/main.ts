import { Command, CommanderError } from 'commander';
import { isPurgeError } from '../errors.ts';
import { cdnsCommand } from './commands/cdns.ts';
import { configCommand } from './commands/config.ts';
import { initCommand } from './commands/init.ts';
import { listCommand } from './commands/list.ts';
import { purgeCommand } from './commands/purge.ts';
import { replayCommand } from './commands/replay.ts';
import { startCommand } from './commands/start.ts';
import { statusCommand } from './commands/status.ts';
import { CliExit, EXIT } from './exit-codes.ts';
import { packageVersion } from './version.ts';

const program = new Command()
  .name('purge-worker')
  .description('CDN cache purges through Redis: enqueue, follow, and run the workers that carry them out')
  .version(packageVersion(), '-V, --version', 'print the version')
  .option(
    '-c, --config <path>',
    'config file (default: $PURGE_CONFIG, else ./purge-worker.json, .yaml or .yml, else the bundled demo)',
  )
  .showHelpAfterError()
  .exitOverride();
program.addHelpText(
  'after',
  '\nExit codes: 0 ok/succeeded, 1 purge failed or timed out (or a CDN check failed), 2 usage or config error,\n3 purge not found, 4 Redis unreachable, 5 --wait --timeout gave up, 6 purge --dry-run: it would be refused.',
);
startCommand(program);
purgeCommand(program);
statusCommand(program);
cdnsCommand(program);
listCommand(program);
replayCommand(program);
initCommand(program);
configCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = exitCodeFor(error);
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // Help and version are not errors; commander has already printed the usage message otherwise.
    return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  }
  if (error instanceof CliExit) {
    process.stderr.write(`purge-worker: ${error.message}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`purge-worker: ${message}\n`);
  // Accepted, but not confirmed on the replicas: not a refused request; Redis could not vouch for it.
  if (isPurgeError(error)) return error.code === 'NOT_REPLICATED' ? EXIT.REDIS_UNAVAILABLE : EXIT.USAGE;
  if (/ECONNREFUSED|max retries per request|Connection is closed|ETIMEDOUT|Command timed out/i.test(message))
    return EXIT.REDIS_UNAVAILABLE;
  return EXIT.USAGE;
}
