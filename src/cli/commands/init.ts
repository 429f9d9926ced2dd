import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { findConfig } from '../../config/load.ts';
import { placeholderNames, STARTER_CDNS, type StarterCdn, starterConfig } from '../../config/starter.ts';
import { CliExit, EXIT } from '../exit-codes.ts';

export const DEFAULT_INIT_PATH = 'purge-worker.yaml';

export function initCommand(program: Command): void {
  program
    .command('init')
    .description(`write a commented starter config (YAML) for the CDNs named, secrets as \${ENV} references`)
    .argument('[file]', 'where to write it', DEFAULT_INIT_PATH)
    .option('--vims', 'configure a VIMS (Planisys) CDN')
    .option('--quantil', 'configure a QUANTIL CDN')
    .option('--cloudfront', 'configure an Amazon CloudFront distribution')
    .option('--fastly', 'configure a Fastly service')
    .option('--cloudflare', 'configure a Cloudflare zone')
    .option('--akamai', 'configure Akamai Fast Purge')
    .option('--varnish', 'configure Varnish cache nodes')
    .option('--force', 'overwrite the file if it exists')
    .action(async (file: string, options: Partial<Record<StarterCdn | 'force', boolean>>) => {
      const cdns = STARTER_CDNS.filter((cdn) => options[cdn] === true);
      if (cdns.length === 0)
        throw new CliExit(
          EXIT.USAGE,
          `name the CDNs to configure, one or more of: ${STARTER_CDNS.map((cdn) => `--${cdn}`).join(', ')}`,
        );
      const text = starterConfig(cdns);
      try {
        // 'wx': refused by the file system itself if the file exists, even one created a moment ago.
        await writeFile(file, text, { flag: options.force ? 'w' : 'wx', mode: 0o600 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        throw new CliExit(EXIT.USAGE, `${file} exists: not overwritten (--force to replace it)`);
      }
      const lines = [
        `wrote ${file} (${cdns.join(', ')})`,
        `set ${placeholderNames(text).join(', ')} in the environment, edit the values marked EDIT,`,
        `then check it: purge-worker${file === DEFAULT_INIT_PATH ? '' : ` -c ${file}`} config check`,
      ];
      const used = usedByStart();
      if (used !== undefined && resolve(used) !== resolve(file))
        lines.push(
          `note: \`npm start\` here uses ${used}; start with --config ${file} (or PURGE_CONFIG=${file})`,
        );
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

/** The file `npm start` in this directory would use now, if any. */
function usedByStart(): string | undefined {
  try {
    return findConfig().path;
  } catch {
    return undefined;
  }
}
