import type { Command } from 'commander';
import { formatIssues } from '../../config/load.ts';
import { createPurgeRequestSchema } from '../../model/purge.ts';
import { LARGEST_MAX_URL_LENGTH } from '../../model/url.ts';
import { withRuntime } from '../context.ts';
import { CliExit, EXIT } from '../exit-codes.ts';
import { followPurge, parseTimeout } from '../follow.ts';
import { dryRunPurge } from './purge-dry-run.ts';

interface PurgeOptions {
  dir: string[];
  tag: string[];
  pattern?: string;
  all?: boolean;
  cdn: string[];
  wait?: boolean;
  timeout?: number;
  json?: boolean;
  idempotencyKey?: string;
  priority?: string;
  dryRun?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

// The usage check runs before the config is read, so it cannot know api.maxUrlLength: it allows the most
// that setting may be, and the producer then holds the URLs to the configured limit.
const usageSchema = createPurgeRequestSchema({ maxUrlLength: LARGEST_MAX_URL_LENGTH });

export function purgeCommand(program: Command): void {
  program
    .command('purge')
    .description('enqueue a purge directly in Redis (no API needed) and print its id')
    .argument('[urls...]', 'URLs to purge')
    .option('--dir <url>', 'a directory (URL prefix) to purge; repeatable', collect, [])
    .option(
      '--tag <key>',
      'a surrogate key / cache tag (Fastly, Cloudflare, Akamai; without --cdn, every CDN that purges by tag); repeatable',
      collect,
      [],
    )
    .option('--pattern <regex>', 'a regular expression (only for CDNs that support it; needs --cdn)')
    .option('--all', 'purge everything on the named CDNs (needs --cdn)')
    .option('--cdn <id>', 'send to this CDN instead of routing by host; repeatable', collect, [])
    .option(
      '--priority <lane>',
      "urgent (no coalescing wait, goes first), normal, or bulk (goes last); default: the routes' default",
    )
    .option(
      '--idempotency-key <key>',
      'a repeat with the same key returns the first purge instead of a new one',
    )
    .option('-w, --wait', 'follow the purge until it ends; exit code tells how it ended')
    .option('--timeout <seconds>', 'with --wait: give up after this long (exit 5)', parseTimeout)
    .option('--json', 'print JSON instead of text')
    .option(
      '--dry-run',
      `plan it and show what it would do now, writing nothing (exit ${EXIT.DRY_RUN_REFUSED}: refused)`,
    )
    .action(async (urls: string[], options: PurgeOptions, command: Command) => {
      const globals = command.optsWithGlobals<{ config?: string }>();
      const candidate = {
        ...(urls.length > 0 ? { urls } : {}),
        ...(options.dir.length > 0 ? { dirs: options.dir } : {}),
        ...(options.tag.length > 0 ? { tags: options.tag } : {}),
        ...(options.pattern === undefined ? {} : { pattern: options.pattern }),
        ...(options.all ? { all: true } : {}),
        ...(options.cdn.length > 0 ? { cdns: options.cdn } : {}),
      };
      // Checked before Redis is needed, so a typo gets its usage error even with Redis down; the producer
      // checks again against the configured limits.
      const parsed = usageSchema.safeParse(
        options.priority === undefined ? candidate : { ...candidate, priority: options.priority },
      );
      if (!parsed.success)
        throw new CliExit(EXIT.USAGE, `invalid purge:\n${formatIssues(parsed.error.issues)}`);
      if (options.dryRun) {
        process.exitCode = await dryRunPurge(globals.config, candidate, options);
        return;
      }
      const code = await withRuntime(globals.config, async (runtime) => {
        const result = await runtime.producer.enqueuePurge(
          parsed.data.priority === undefined ? candidate : { ...candidate, priority: parsed.data.priority },
          options.idempotencyKey ? { idempotency: { scope: 'cli', key: options.idempotencyKey } } : {},
        );
        if (options.json && !options.wait) {
          process.stdout.write(`${JSON.stringify(result)}\n`);
          return EXIT.OK;
        }
        if (!options.json) {
          const note = result.duplicate ? ' (repeat of an earlier request)' : '';
          process.stdout.write(`purge ${result.id} queued for ${result.cdns.join(', ')}${note}\n`);
        }
        if (!options.wait) return EXIT.OK;
        return followPurge(runtime.store, result.id, {
          wait: true,
          json: options.json === true,
          out: process.stdout,
          ...(options.timeout === undefined ? {} : { timeoutMs: options.timeout }),
        });
      });
      process.exitCode = code;
    });
}
