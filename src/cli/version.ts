import { readFileSync } from 'node:fs';

/** The version in package.json, which `--version` prints: the one place it is kept. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: unknown;
  };
  return String(pkg.version);
}
