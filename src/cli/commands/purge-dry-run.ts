import type { PurgeRequestInput } from '../../model/purge.ts';
import { withRuntime } from '../context.ts';
import { CliExit, EXIT } from '../exit-codes.ts';
import { renderDryRun } from '../render-dry-run.ts';

/**
 * `purge --dry-run`: the producer's dry run, from a process that writes nothing to Redis (its queues skip
 * BullMQ's meta write too). Exit 0 when the purge would be accepted (or answered as a repeat), else
 * DRY_RUN_REFUSED, so a script can check a purge before sending it.
 */
export async function dryRunPurge(
  configPath: string | undefined,
  request: PurgeRequestInput,
  options: { idempotencyKey?: string; json?: boolean; wait?: boolean },
): Promise<number> {
  if (options.wait)
    throw new CliExit(EXIT.USAGE, '--dry-run sends nothing, so there is nothing to --wait for');
  return withRuntime(
    configPath,
    async (runtime) => {
      const report = await runtime.producer.dryRun(
        request,
        options.idempotencyKey ? { idempotency: { scope: 'cli', key: options.idempotencyKey } } : {},
      );
      const text = options.json ? JSON.stringify(report, null, 2) : renderDryRun(report).join('\n');
      process.stdout.write(`${text}\n`);
      return report.wouldBeRefused.length > 0 ? EXIT.DRY_RUN_REFUSED : EXIT.OK;
    },
    { readOnly: true },
  );
}
