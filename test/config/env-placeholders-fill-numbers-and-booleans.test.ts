import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../../src/config/load.ts';
import { PurgeError } from '../../src/errors.ts';
import { QUANTIL_ENTRY, VIMS_ENTRY } from './fixtures.ts';

const vims = VIMS_ENTRY;
const quantil = QUANTIL_ENTRY;

function messageOf(input: unknown, env: Record<string, string>): string {
  try {
    parseConfig(input, env);
  } catch (error) {
    if (error instanceof PurgeError && error.code === 'CONFIG_INVALID') return error.message;
    throw error;
  }
  throw new Error('expected the config to be refused');
}

describe('${VAR} placeholders', () => {
  it('fill the number and boolean fields of every section', () => {
    const config = parseConfig(
      {
        cdns: [
          {
            ...vims,
            concurrency: '${CONCURRENCY}',
            maxPatternLength: '${PATTERN_LENGTH}',
            rateLimit: { max: '${RATE_MAX}', durationMs: '${RATE_MS}' },
            policy: { poll: { deadlineMs: '${DEADLINE_MS}' } },
          },
          { ...quantil, maxItemsPerCall: '${ITEMS_PER_CALL}' },
        ],
        policy: { submit: { attempts: '${ATTEMPTS}', jitter: '${JITTER}' } },
        worker: { lockDurationMs: '${LOCK_MS}', keepFailed: { count: '${KEEP_FAILED}' } },
        api: { port: '${PORT}', webhook: { toleranceSeconds: '${TOLERANCE}' } },
        callbacks: { attempts: '${CALLBACK_ATTEMPTS}' },
        dashboard: { readOnly: '${DASHBOARD_READ_ONLY}' },
        metrics: { port: '${METRICS_PORT}' },
        statusTtlSeconds: '${STATUS_TTL}',
      },
      {
        CONCURRENCY: '4',
        PATTERN_LENGTH: '2000',
        RATE_MAX: '10',
        RATE_MS: '1000',
        DEADLINE_MS: '60000',
        ITEMS_PER_CALL: '50',
        ATTEMPTS: '3',
        JITTER: '0.5',
        LOCK_MS: '5000',
        KEEP_FAILED: '7',
        PORT: '9090',
        TOLERANCE: '60',
        CALLBACK_ATTEMPTS: '2',
        DASHBOARD_READ_ONLY: 'false',
        METRICS_PORT: '9465',
        STATUS_TTL: '86400',
      },
    );
    expect(config.cdns[0]).toMatchObject({
      concurrency: 4,
      maxPatternLength: 2000,
      rateLimit: { max: 10, durationMs: 1000 },
      policy: { poll: { deadlineMs: 60_000 } },
    });
    expect(config.cdns[1]).toMatchObject({ maxItemsPerCall: 50 });
    expect(config.policy.submit).toMatchObject({ attempts: 3, jitter: 0.5 });
    expect(config.worker).toMatchObject({ lockDurationMs: 5000, keepFailed: { count: 7 } });
    expect(config.api).toMatchObject({ port: 9090, webhook: { toleranceSeconds: 60 } });
    expect(config.callbacks.attempts).toBe(2);
    expect(config.dashboard.readOnly).toBe(false);
    expect(config.metrics.port).toBe(9465);
    expect(config.statusTtlSeconds).toBe(86_400);
  });

  it('fill an unquoted YAML number field too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pw-config-env-'));
    const file = join(dir, 'purge-worker.yaml');
    await writeFile(
      file,
      [
        'cdns:',
        '  - { id: vims-main, provider: vims, baseUrl: "http://127.0.0.1:1", token: t, cdnId: 101 }',
        'api:',
        '  port: ${PORT}',
      ].join('\n'),
    );
    expect((await loadConfigFile(file, { PORT: '8181' })).api.port).toBe(8181);
  });

  it('leave string fields as the text the variable holds, digits included', () => {
    const config = parseConfig(
      { cdns: [{ ...vims, token: '${VIMS_TOKEN}', cdnId: '${VIMS_CDN_ID}' }], api: { host: '${HOST}' } },
      { VIMS_TOKEN: '1234567890', VIMS_CDN_ID: '101', HOST: '127.0.0.1' },
    );
    expect(config.cdns[0]).toMatchObject({ token: '1234567890', cdnId: '101' });
    expect(config.api.host).toBe('127.0.0.1');
  });

  it('are the only strings a number or boolean field accepts: text typed in the file is refused', () => {
    const message = messageOf(
      {
        cdns: [vims],
        api: { port: '8080' },
        metrics: { port: '90${PORT_SUFFIX}' },
        dashboard: { readOnly: 'false' },
      },
      { PORT_SUFFIX: '64' },
    );
    expect(message).toMatch(/api\.port: .*expected number/);
    expect(message).toMatch(/metrics\.port: .*expected number/);
    expect(message).toMatch(/dashboard\.readOnly: .*expected boolean/);
  });

  it('name the field and the variable when its value is not a number or a boolean, without showing the value', () => {
    const message = messageOf(
      {
        cdns: [{ ...vims, concurrency: '${CONCURRENCY}' }],
        api: { port: '${PORT}' },
        dashboard: { readOnly: '${RO}' },
      },
      { CONCURRENCY: 'eight', PORT: 'sk_live_pasted_in_the_wrong_variable', RO: 'yes' },
    );
    expect(message).toContain('cdns[0].concurrency: ${CONCURRENCY} is not a number');
    expect(message).toContain('api.port: ${PORT} is not a number');
    expect(message).toContain('dashboard.readOnly: ${RO} is not true or false');
    expect(message).not.toContain('sk_live_pasted');
  });

  it("still hold a filled number to the field's own limits", () => {
    const message = messageOf({ cdns: [vims], api: { port: '${PORT}' } }, { PORT: '70000' });
    expect(message).toMatch(/api\.port: .*65535/);
  });
});
