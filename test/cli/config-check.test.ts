import { describe, it } from 'vitest';
import { parse } from 'yaml';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { testConfigInput } from '../harness/service.ts';
import { runCli, writeConfig } from './cli.ts';

const SECRETS = [
  'sk_live_check-secret-token',
  'api-check-token-0123456789',
  'webhook-check-secret-0123',
  'redis-check-password',
];

const input = () => ({
  ...testConfigInput('http://127.0.0.1:9', {}, [
    { ...VIMS_RIG.cdnEntry('http://127.0.0.1:9'), token: '${CHECK_VIMS_TOKEN}' },
  ]),
  redis: { url: `redis://ops:${SECRETS[3]}@127.0.0.1:6390`, prefix: '{check}' },
  api: { port: 8181, tokens: [{ name: 'cms', token: SECRETS[1] }], webhook: { secret: SECRETS[2] } },
});

describe('purge-worker config check', () => {
  it.concurrent('prints the resolved config as YAML, every secret masked, and exits 0', async ({
    expect,
  }) => {
    const path = await writeConfig(input());
    const result = await runCli(['-c', path, 'config', 'check'], {
      env: { CHECK_VIMS_TOKEN: SECRETS[0] as string },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe(`# ${path} (named by --config) is valid; secrets masked`);
    for (const secret of SECRETS) expect(result.stdout).not.toContain(secret);
    const printed = parse(result.stdout);
    expect(printed.redis).toEqual({ url: 'redis://ops:********@127.0.0.1:6390', prefix: '{check}' });
    expect(printed.cdns[0].token).toBe('********');
    expect(printed.api.tokens).toEqual([{ name: 'cms', token: '********' }]);
    expect(printed.api.webhook.secret).toBe('********');
    // Resolved: defaults the file left out are shown as they will be used.
    expect(printed.api.port).toBe(8181);
    expect(printed.worker.keepFailed).toEqual({ ageSeconds: 604800, count: 50000 });
  });

  it.concurrent('prints JSON with --json', async ({ expect }) => {
    const path = await writeConfig(input());
    const result = await runCli(['-c', path, 'config', 'check', '--json'], {
      env: { CHECK_VIMS_TOKEN: SECRETS[0] as string },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).cdns[0].token).toBe('********');
  });

  it.concurrent('exits 2 naming each invalid field, or the variable that is not set, and prints nothing', async ({
    expect,
  }) => {
    const bad = await writeConfig({
      ...input(),
      api: { ...input().api, port: 'eighty' },
      worker: { lockDurationMs: 5 },
    });
    const invalid = await runCli(['-c', bad, 'config', 'check'], {
      env: { CHECK_VIMS_TOKEN: SECRETS[0] as string },
    });
    expect(invalid.code).toBe(2);
    expect(invalid.stdout).toBe('');
    expect(invalid.stderr).toContain(`${bad} is invalid:`);
    expect(invalid.stderr).toMatch(/ {2}- api\.port: /);
    expect(invalid.stderr).toMatch(/ {2}- worker\.lockDurationMs: /);

    const unset = await runCli(['-c', await writeConfig(input()), 'config', 'check']);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain('environment variable(s) not set: CHECK_VIMS_TOKEN');
  });
});
