import type { Command } from 'commander';
import { decodeCursor, type ListQuery, MAX_LIST_LIMIT, parseListQuery } from '../../model/list-query.ts';
import type { PurgeSummary } from '../../status/list.ts';
import type { StatusStore } from '../../status/store.ts';
import { withRuntime } from '../context.ts';
import { EXIT } from '../exit-codes.ts';
import { renderPurgeTable } from '../list-table.ts';

export interface ListOptions {
  state?: string;
  cdn?: string;
  since?: string;
  until?: string;
  url?: string;
  limit?: string;
  cursor?: string;
  json?: boolean;
}

/** The options as the list API's query parameters, so both are checked by the same model. */
export function listParameters(options: ListOptions): Record<string, string> {
  const raw: Record<string, string> = {};
  for (const name of ['state', 'cdn', 'since', 'until', 'url', 'limit', 'cursor'] as const) {
    const value = options[name];
    if (value !== undefined) raw[name] = value;
  }
  return raw;
}

/**
 * Every purge the query matches, up to its limit, following the store's pages (each bounded in the work
 * it does) until the limit is reached or the index ends.
 */
export async function collectPurges(
  store: StatusStore,
  query: ListQuery,
): Promise<{ purges: PurgeSummary[]; nextCursor?: string }> {
  const purges: PurgeSummary[] = [];
  let cursor = query.cursor;
  for (;;) {
    const page = await store.list({
      ...query,
      limit: Math.min(MAX_LIST_LIMIT, query.limit - purges.length),
      ...(cursor ? { cursor } : {}),
    });
    purges.push(...page.purges);
    if (!page.nextCursor) return { purges };
    if (purges.length >= query.limit) return { purges, nextCursor: page.nextCursor };
    cursor = decodeCursor(page.nextCursor);
  }
}

export function listCommand(program: Command): void {
  program
    .command('list')
    .description('list purges, newest first: a table, or --json')
    .option(
      '--state <states>',
      'only these states, comma-separated (queued, running, succeeded, failed, timed_out)',
    )
    .option('--cdn <ids>', 'only purges sent to these CDNs, comma-separated')
    .option('--since <when>', 'accepted at or after: an ISO date, epoch ms, or a span back like 30m, 1h, 7d')
    .option('--until <when>', 'accepted at or before (same forms as --since)')
    .option('--url <text>', 'only purges with a URL, dir or pattern containing this text')
    .option('--limit <n>', 'show at most this many (default 50)')
    .option('--cursor <cursor>', "go on where an earlier --json listing's nextCursor left off")
    .option('--json', 'print JSON ({ purges, nextCursor? }) instead of a table')
    .action(async (options: ListOptions, command: Command) => {
      const globals = command.optsWithGlobals<{ config?: string }>();
      const raw = listParameters(options);
      // Checked before Redis is needed (any CDN id passes here); again below against the configured CDNs.
      parseListQuery(raw, { now: Date.now(), cdns: new Set(options.cdn?.split(',') ?? []) });
      process.exitCode = await withRuntime(globals.config, async (runtime) => {
        const cdns = new Set(runtime.config.cdns.map((cdn) => cdn.id));
        const query = parseListQuery(raw, { now: Date.now(), cdns });
        const found = await collectPurges(runtime.store, query);
        if (options.json) {
          process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
          return EXIT.OK;
        }
        const width = process.stdout.isTTY ? process.stdout.columns : undefined;
        process.stdout.write(`${renderPurgeTable(found.purges, width).join('\n')}\n`);
        if (found.nextCursor) process.stdout.write(`(more: --cursor ${found.nextCursor})\n`);
        return EXIT.OK;
      });
    });
}
