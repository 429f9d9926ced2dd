import type { Command } from 'commander';
import { describeError } from '../../errors.ts';
import { withRuntime } from '../context.ts';
import { EXIT } from '../exit-codes.ts';

export function cdnsCommand(program: Command): void {
  program
    .command('cdns')
    .description('list the configured CDNs; --check verifies credentials and reachability')
    .option('--check', 'call each CDN (VIMS: the services listing) and report')
    .option('--json', 'print JSON instead of text')
    .action(async (options: { check?: boolean; json?: boolean }, command: Command) => {
      const globals = command.optsWithGlobals<{ config?: string }>();
      process.exitCode = await withRuntime(
        globals.config,
        async (runtime) => {
          const rows = [];
          for (const cdn of runtime.config.cdns) {
            const provider = runtime.providers.get(cdn.id);
            const row: {
              id: string;
              provider: string;
              baseUrl: string;
              kinds: string[];
              ok?: boolean;
              detail?: string;
            } = {
              id: cdn.id,
              provider: cdn.provider,
              baseUrl: cdn.baseUrl,
              kinds: [...(provider?.capabilities.kinds ?? [])],
            };
            if (options.check && provider) {
              try {
                Object.assign(row, await provider.check(AbortSignal.timeout(15_000)));
              } catch (error) {
                Object.assign(row, { ok: false, detail: describeError(error) });
              }
            }
            rows.push(row);
          }
          if (options.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          else {
            for (const row of rows) {
              const check = row.ok === undefined ? '' : ` ${row.ok ? 'OK' : 'FAILED'}: ${row.detail}`;
              process.stdout.write(
                `${row.id} (${row.provider}) ${row.baseUrl} [${row.kinds.join(', ')}]${check}\n`,
              );
            }
          }
          return rows.some((row) => row.ok === false) ? EXIT.PURGE_FAILED : EXIT.OK;
        },
        { needsRedis: false },
      );
    });
}
