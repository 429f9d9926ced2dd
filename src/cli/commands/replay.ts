import type { Command } from 'commander';
import { describeError, isPurgeError } from '../../errors.ts';
import { decodeCursor, MAX_LIST_LIMIT, parseListQuery } from '../../model/list-query.ts';
import { type ReplayResult, replayPurge } from '../../queue/replay.ts';
import type { Runtime } from '../../runtime.ts';
import { withRuntime } from '../context.ts';
import { CliExit, EXIT } from '../exit-codes.ts';

interface ReplayCommandOptions {
  failedSince?: string;
  all?: boolean;
  json?: boolean;
}

type Outcome = ReplayResult | { replayOf: string; error: string; message: string };

export function replayCommand(program: Command): void {
  program
    .command('replay')
    .description('send purges again, as new purges naming them: only what failed or timed out, or --all')
    .argument('[ids...]', 'the purges to replay')
    .option(
      '--failed-since <when>',
      'replay every purge that failed or timed out since then (30m, 1h, an ISO date…)',
    )
    .option('--all', 'send everything each purge asked for, not only what failed or timed out')
    .option('--json', 'print one JSON object per purge instead of text')
    .action(async (ids: string[], options: ReplayCommandOptions, command: Command) => {
      const globals = command.optsWithGlobals<{ config?: string }>();
      if (ids.length > 0 === (options.failedSince !== undefined))
        throw new CliExit(EXIT.USAGE, 'name the purges to replay, or --failed-since, not both');
      const since = options.failedSince;
      // Checked before Redis is needed, as list's options are.
      if (since !== undefined) parseSince(since);
      process.exitCode = await withRuntime(globals.config, async (runtime) => {
        let code: number = EXIT.OK;
        const replay = async (id: string) => {
          const outcome = await replayOne(runtime, id, options.all === true);
          print(outcome, options.json === true);
          if ('error' in outcome && code === EXIT.OK) code = exitCodeOf(outcome.error);
        };
        if (since === undefined) {
          for (const id of ids) await replay(id);
          return code;
        }
        // Page by page, replaying as it goes: the replays are newer than every page still to come.
        let cursor: string | undefined;
        do {
          const page = await runtime.store.list({
            ...parseSince(since),
            states: ['failed', 'timed_out'],
            limit: MAX_LIST_LIMIT,
            ...(cursor ? { cursor: decodeCursor(cursor) } : {}),
          });
          for (const purge of page.purges) await replay(purge.id);
          cursor = page.nextCursor;
        } while (cursor);
        return code;
      });
    });
}

function parseSince(value: string): { since: number } {
  const { since } = parseListQuery({ since: value }, { now: Date.now(), cdns: new Set() });
  return { since: since as number };
}

async function replayOne(runtime: Runtime, id: string, all: boolean): Promise<Outcome> {
  try {
    return await replayPurge(id, { all }, runtime);
  } catch (error) {
    // One purge that cannot be replayed does not stop the others; the exit code says something went wrong.
    if (!isPurgeError(error) || error.code === 'INTERNAL' || error.code === 'REDIS_UNAVAILABLE') throw error;
    return { replayOf: id, error: error.code, message: describeError(error) };
  }
}

function print(outcome: Outcome, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(outcome)}\n`);
    return;
  }
  if ('error' in outcome) {
    process.stderr.write(`purge-worker: ${outcome.message}\n`);
    return;
  }
  const note = outcome.duplicate ? ' (repeat of an earlier replay)' : '';
  process.stdout.write(
    `purge ${outcome.id} replays ${outcome.replayOf}, queued for ${outcome.cdns.join(', ')}${note}\n`,
  );
}

function exitCodeOf(code: string): number {
  return code === 'NOT_FOUND' ? EXIT.NOT_FOUND : EXIT.USAGE;
}
