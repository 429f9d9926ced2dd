import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../../src/config/load.ts';
import { PurgeError } from '../../src/errors.ts';

const vims = {
  id: 'vims-main',
  provider: 'vims',
  baseUrl: 'http://127.0.0.1:1',
  token: 'sk_live_x',
  cdnId: 101,
};

function errorOf(run: () => unknown): PurgeError {
  try {
    run();
  } catch (error) {
    if (error instanceof PurgeError) return error;
    throw error;
  }
  throw new Error('expected a PurgeError');
}

describe('config validation', () => {
  it('fills defaults for everything a minimal config leaves out', () => {
    const config = parseConfig({ cdns: [vims] }, { REDIS_URL: 'redis://example:6380' });
    expect(config.redis).toEqual({ url: 'redis://example:6380', prefix: '{purge}' });
    expect(config.policy.submit.attempts).toBe(6);
    expect(config.policy.poll.deadlineMs).toBe(900_000);
    expect(config.cdns[0]).toMatchObject({ target: 'all', taskStatusPath: '/api/tasks/', cdnId: '101' });
    expect(Object.isFrozen(config.cdns[0])).toBe(true);
  });

  it('names the path of every bad field in one error', () => {
    const error = errorOf(() =>
      parseConfig({
        redis: { prefix: 'no-hash-tag' },
        cdns: [{ ...vims, token: '', baseUrl: 'ftp://x' }],
        routes: [{ hosts: ['bad host!'], cdns: ['nope'] }],
      }),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('redis.prefix');
    expect(error.message).toContain('cdns[0].token');
    expect(error.message).toContain('cdns[0].baseUrl');
    expect(error.message).toContain('routes[0].hosts[0]');
  });

  it('says plainly that a required field is missing', () => {
    const { token: _token, cdnId: _cdnId, ...incomplete } = vims;
    const error = errorOf(() => parseConfig({ cdns: [incomplete] }, {}));
    expect(error.message).toContain('cdns[0].token: is required');
    expect(error.message).toContain('cdns[0].cdnId: is required');
  });

  it('refuses a route to an unknown CDN and duplicate CDN ids', () => {
    const error = errorOf(() =>
      parseConfig({ cdns: [vims, vims], routes: [{ hosts: ['www.example.com'], cdns: ['ghost'] }] }, {}),
    );
    expect(error.message).toContain('cdns[1].id: duplicate CDN id "vims-main"');
    expect(error.message).toContain('routes[0].cdns[0]: unknown CDN id "ghost"');
  });

  it('names a callbacks.allowHosts entry that is neither a host name, an IP address nor a CIDR', () => {
    const error = errorOf(() =>
      parseConfig({ cdns: [vims], callbacks: { allowHosts: ['cms.internal', '127.1', '10.0.0.0/40'] } }, {}),
    );
    expect(error.message).toContain('callbacks.allowHosts[1]: "127.1" reads as an IPv4 address');
    expect(error.message).toContain('callbacks.allowHosts[2]: "10.0.0.0/40" is not a CIDR');
    expect(error.message).not.toContain('allowHosts[0]');
  });

  it('bounds callback deliveries by default: 5 s each, 4 at once, 1 per receiver host', () => {
    expect(parseConfig({ cdns: [vims] }, {}).callbacks).toMatchObject({
      timeoutMs: 5_000,
      concurrency: 4,
      perHostConcurrency: 1,
      allowHosts: [],
    });
  });

  it('refuses a per-host callback share larger than the callback concurrency', () => {
    const error = errorOf(() =>
      parseConfig({ cdns: [vims], callbacks: { concurrency: 2, perHostConcurrency: 3 } }, {}),
    );
    expect(error.message).toContain(
      'callbacks.perHostConcurrency: must be at most callbacks.concurrency (2)',
    );
  });

  it('refuses an unknown provider and names the discriminator', () => {
    const error = errorOf(() => parseConfig({ cdns: [{ ...vims, provider: 'limelight' }] }, {}));
    expect(error.message).toContain('cdns[0].provider');
  });

  it('interpolates ${ENV} and reports every variable that is not set', () => {
    const config = parseConfig(
      { cdns: [{ ...vims, token: '${VIMS_TOKEN}' }] },
      { VIMS_TOKEN: 'sk_live_from_env' },
    );
    expect(config.cdns[0]?.provider === 'vims' && config.cdns[0].token).toBe('sk_live_from_env');
    const error = errorOf(() =>
      parseConfig({ cdns: [{ ...vims, token: '${A_TOKEN}', baseUrl: '${B_URL}' }] }, {}),
    );
    expect(error.message).toContain('environment variable(s) not set: A_TOKEN, B_URL');
  });

  it('merges a per-CDN policy override over the global policy', async () => {
    const { mergePolicy } = await import('../../src/config/policy.ts');
    const config = parseConfig({
      policy: { poll: { initialIntervalMs: 500 } },
      cdns: [{ ...vims, policy: { poll: { deadlineMs: 1000 } } }],
    });
    const merged = mergePolicy(config.policy, config.cdns[0]?.policy);
    expect(merged.poll).toMatchObject({ initialIntervalMs: 500, deadlineMs: 1000, backoffCoefficient: 1.5 });
  });

  it('refuses unknown top-level and policy keys instead of ignoring a typo', () => {
    const error = errorOf(() => parseConfig({ cdns: [vims], polcy: {}, policy: { poll: { dedline: 1 } } }));
    expect(error.message).toMatch(/polcy/);
    expect(error.message).toMatch(/dedline/);
  });

  it('reports an unreadable file and invalid JSON with the file path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pw-config-'));
    await expect(loadConfigFile(join(dir, 'missing.json'))).rejects.toThrow(
      /cannot read config file .*missing\.json/,
    );
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{ "cdns": [ ');
    await expect(loadConfigFile(broken)).rejects.toThrow(/broken\.json is not valid JSON/);
  });

  it('reads YAML as well as JSON, and names the format of a file it cannot parse', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pw-config-yaml-'));
    const good = join(dir, 'purge-worker.yaml');
    await writeFile(
      good,
      [
        'cdns:',
        '  - id: vims-main',
        '    provider: vims',
        '    baseUrl: http://127.0.0.1:1',
        '    token: ${VIMS_TOKEN}',
        '    cdnId: 101',
        'routes:',
        '  - hosts: ["*.example.com"]',
        '    cdns: [vims-main]',
      ].join('\n'),
    );
    const config = await loadConfigFile(good, { VIMS_TOKEN: 'sk_live_yaml' });
    expect(config.cdns[0]).toMatchObject({ id: 'vims-main', token: 'sk_live_yaml', cdnId: '101' });
    const bad = join(dir, 'broken.yml');
    await writeFile(bad, 'cdns: [\n  - id: x');
    await expect(loadConfigFile(bad)).rejects.toThrow(/broken\.yml is not valid YAML/);
    const toml = join(dir, 'config.toml');
    await writeFile(toml, '[redis]');
    await expect(loadConfigFile(toml)).rejects.toThrow(/config\.toml: use a \.json, \.yaml or \.yml file/);
  });
});
