import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.ts';
import { ERROR_CODES } from '../../src/errors.ts';

const root = new URL('../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');
// merge: the file shares the service template through a YAML merge key (<<: *purge-worker).
const compose = parse(readFileSync(new URL('docker-compose.yml', root), 'utf8'), { merge: true }) as {
  services: Record<
    string,
    { profiles?: string[]; command?: string[]; ports?: string[]; environment?: Record<string, string> }
  >;
};

/** The part of README between a `## ` or `### ` heading and the next heading of the same or higher level. */
function section(title: string): string {
  const start = readme.search(new RegExp(`^#{2,3} ${title}$`, 'm'));
  if (start < 0) throw new Error(`README has no section "${title}"`);
  const rest = readme.slice(readme.indexOf('\n', start) + 1);
  const end = rest.search(/^#{2,3} /m);
  return end < 0 ? rest : rest.slice(0, end);
}

describe('README agrees with the code', () => {
  it('lists every error code, and no code the code does not have', () => {
    const table = section('Error codes');
    const listed = [...table.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('describes every docker compose service, with the profile and roles it really has', () => {
    const text = section('docker compose');
    for (const name of Object.keys(compose.services)) expect(text).toContain(`\`${name}\``);
    expect(compose.services.simulator?.profiles).toEqual(['demo']);
    expect(compose.services['demo-purge']?.profiles).toEqual(['demo']);
    expect(compose.services.prometheus?.profiles).toEqual(['monitoring']);
    expect(compose.services.grafana?.profiles).toEqual(['monitoring']);
    expect(text).toContain('--profile monitoring');
    expect(compose.services.api?.command).toEqual(['start', '--role', 'api']);
    expect(compose.services.worker?.command).toEqual(['start', '--role', 'worker']);
    expect(readme).toContain('docker compose --env-file examples/demo.env --profile demo up');
  });

  it("ships a compose config that is valid on the demo's env file and matches the compose file's ports", () => {
    const env = parseEnv(readFileSync(new URL('examples/demo.env', root), 'utf8'));
    const config = parseConfig(JSON.parse(readFileSync(new URL('examples/compose.json', root), 'utf8')), env);
    expect(compose.services.api?.ports).toEqual([`127.0.0.1:${config.api.port}:${config.api.port}`]);
    expect(compose.services.worker?.ports).toEqual([`127.0.0.1::${config.metrics.port}`]);
    expect(config.cdns.map((cdn) => cdn.baseUrl)).toEqual(['http://simulator:8787', 'http://simulator:8787']);
  });

  it('ships a local demo config that is valid', () => {
    const config = parseConfig(JSON.parse(readFileSync(new URL('examples/demo.json', root), 'utf8')), {});
    expect(config.dashboard.users).toHaveLength(1);
    expect(readme).toContain(`admin / ${config.dashboard.users[0]?.password}`);
  });

  it('names the CLI exit codes the CLI uses', async () => {
    const { EXIT } = await import('../../src/cli/exit-codes.ts');
    const text = section('CLI');
    for (const code of Object.values(EXIT)) expect(text).toContain(`\`${code}\``);
  });
});
