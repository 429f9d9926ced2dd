import type { Command } from 'commander';
import { withRuntime } from '../context.ts';
import { followPurge, parseTimeout } from '../follow.ts';

export function statusCommand(program: Command): void {
  program
    .command('status')
    .description("show a purge's state per CDN; exit 0 when succeeded, 1 when failed or timed out")
    .argument('<id>', 'the purge id')
    .option('-w, --wait', 'follow the purge until it ends')
    .option('--timeout <seconds>', 'with --wait: give up after this long (exit 5)', parseTimeout)
    .option('--json', 'print JSON instead of text')
    .action(
      async (id: string, options: { wait?: boolean; json?: boolean; timeout?: number }, command: Command) => {
        const globals = command.optsWithGlobals<{ config?: string }>();
        process.exitCode = await withRuntime(globals.config, (runtime) =>
          followPurge(runtime.store, id, {
            wait: options.wait === true,
            json: options.json === true,
            out: process.stdout,
            ...(options.timeout === undefined ? {} : { timeoutMs: options.timeout }),
          }),
        );
      },
    );
}
