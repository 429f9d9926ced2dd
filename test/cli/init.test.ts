import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from './cli.ts';

/** Values for the secrets a starter config names, long enough for the schema. */
const SECRET_ENV = {
  VIMS_TOKEN: 'sk_live_0123456789abcdef',
  QUANTIL_API_KEY: 'quantil-key-0123456789',
  PURGE_API_TOKEN: 'api-token-0123456789abcdef',
  PURGE_WEBHOOK_SECRET: 'webhook-secret-0123456789',
  DASHBOARD_PASSWORD: 'dashboard-password-0123',
};

const emptyDir = () => mkdtemp(join(tmpdir(), 'pw-init-'));

describe('purge-worker init', () => {
  it.concurrent('writes a commented YAML config for the CDNs named, with secrets as ${ENV} references, that config check accepts', async ({
    expect,
  }) => {
    const cwd = await emptyDir();
    const result = await runCli(['init', '--vims', '--quantil'], { cwd });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('wrote purge-worker.yaml (vims, quantil)');
    expect(result.stdout).toContain(
      'set VIMS_TOKEN, QUANTIL_API_KEY, PURGE_API_TOKEN, PURGE_WEBHOOK_SECRET, DASHBOARD_PASSWORD in the environment',
    );
    const text = await readFile(join(cwd, 'purge-worker.yaml'), 'utf8');
    expect(text).toMatch(/^# purge-worker config/);
    expect(text.split('\n').filter((line) => line.trimStart().startsWith('#')).length).toBeGreaterThan(10);
    const raw = parse(text);
    expect(raw.cdns.map((cdn: { provider: string }) => cdn.provider)).toEqual(['vims', 'quantil']);
    expect(raw.cdns[0].token).toBe('${VIMS_TOKEN}');
    expect(raw.cdns[1].apiKey).toBe('${QUANTIL_API_KEY}');
    expect(raw.api.tokens[0].token).toBe('${PURGE_API_TOKEN}');
    expect(raw.api.webhook.secret).toBe('${PURGE_WEBHOOK_SECRET}');
    expect(raw.dashboard.users[0].password).toBe('${DASHBOARD_PASSWORD}');
    expect(raw.routes[0].cdns).toEqual(['vims-main', 'quantil-main']);

    // Found by every command as npm start finds it, and valid once its secrets are set.
    const check = await runCli(['config', 'check'], { cwd, env: SECRET_ENV });
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain('# purge-worker.yaml (found in the working directory) is valid');
    const unset = await runCli(['config', 'check'], { cwd });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain('environment variable(s) not set: DASHBOARD_PASSWORD, PURGE_API_TOKEN');
  });

  it.concurrent('writes only the CDNs named, to the file named', async ({ expect }) => {
    const cwd = await emptyDir();
    const result = await runCli(['init', '--quantil', 'quantil-only.yml'], { cwd });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('then check it: purge-worker -c quantil-only.yml config check');
    const raw = parse(await readFile(join(cwd, 'quantil-only.yml'), 'utf8'));
    expect(raw.cdns.map((cdn: { id: string }) => cdn.id)).toEqual(['quantil-main']);
    expect(raw.routes[0].cdns).toEqual(['quantil-main']);
  });

  it.concurrent('refuses to overwrite a file unless --force, and asks for a CDN when none is named', async ({
    expect,
  }) => {
    const cwd = await emptyDir();
    const path = join(cwd, 'purge-worker.yaml');
    await writeFile(path, 'mine: true\n');
    const refused = await runCli(['init', '--vims'], { cwd });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      'purge-worker: purge-worker.yaml exists: not overwritten (--force to replace it)\n',
    );
    expect(await readFile(path, 'utf8')).toBe('mine: true\n');

    const forced = await runCli(['init', '--vims', '--force'], { cwd });
    expect(forced.code, forced.stderr).toBe(0);
    expect(parse(await readFile(path, 'utf8')).cdns[0].provider).toBe('vims');

    const none = await runCli(['init', 'other.yaml'], { cwd });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(
      'name the CDNs to configure, one or more of: --vims, --quantil, --cloudfront, --fastly, --cloudflare, --akamai, --varnish',
    );
  });

  it.concurrent('writes CloudFront, Fastly, Cloudflare, Akamai and Varnish entries that config check accepts', async ({
    expect,
  }) => {
    const cwd = await emptyDir();
    const result = await runCli(
      ['init', '--cloudfront', '--fastly', '--cloudflare', '--akamai', '--varnish'],
      {
        cwd,
      },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      'wrote purge-worker.yaml (cloudfront, fastly, cloudflare, akamai, varnish)',
    );
    const raw = parse(await readFile(join(cwd, 'purge-worker.yaml'), 'utf8'));
    expect(raw.cdns.map((cdn: { provider: string }) => cdn.provider)).toEqual([
      'cloudfront',
      'fastly',
      'cloudflare',
      'akamai',
      'varnish',
    ]);
    // Every credential is an ${ENV} reference; nothing secret is written into the file.
    expect(raw.cdns[0]).toMatchObject({
      accessKeyId: '${AWS_ACCESS_KEY_ID}',
      secretAccessKey: '${AWS_SECRET_ACCESS_KEY}',
      policy: { poll: { deadlineMs: 1_800_000 } },
    });
    expect(raw.cdns[1].token).toBe('${FASTLY_API_TOKEN}');
    expect(raw.cdns[2].apiToken).toBe('${CLOUDFLARE_API_TOKEN}');
    expect(raw.cdns[3]).toMatchObject({
      clientToken: '${AKAMAI_CLIENT_TOKEN}',
      clientSecret: '${AKAMAI_CLIENT_SECRET}',
      accessToken: '${AKAMAI_ACCESS_TOKEN}',
    });

    const env = {
      ...SECRET_ENV,
      AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      FASTLY_API_TOKEN: 'fastly-token-0123456789',
      CLOUDFLARE_API_TOKEN: 'cloudflare-token-0123456789abcdef',
      AKAMAI_CLIENT_TOKEN: 'akab-client-token-0123456789',
      AKAMAI_CLIENT_SECRET: 'c2VjcmV0LW9mLXRoZS10ZXN0LWNsaWVudA==',
      AKAMAI_ACCESS_TOKEN: 'akab-access-token-0123456789',
    };
    const check = await runCli(['config', 'check'], { cwd, env });
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain('is valid');
    // config check masks credentials: the values given above never reach its output.
    for (const secret of [env.AWS_SECRET_ACCESS_KEY, env.FASTLY_API_TOKEN, env.AKAMAI_CLIENT_SECRET])
      expect(check.stdout).not.toContain(secret);
  });

  it.concurrent('says when npm start in that directory would use another file', async ({ expect }) => {
    const cwd = await emptyDir();
    await writeFile(join(cwd, 'purge-worker.json'), '{}');
    const result = await runCli(['init', '--vims'], { cwd });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      'note: `npm start` here uses purge-worker.json; start with --config purge-worker.yaml (or PURGE_CONFIG=purge-worker.yaml)',
    );
  });
});
