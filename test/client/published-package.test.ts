import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { API_TOKEN, startTestApi, type TestApi } from '../harness/api.ts';
import { uniquePrefix } from '../harness/prefix.ts';
import { TEST_VIMS_TOKEN, testConfigInput } from '../harness/service.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const PACKED = [
  'package.json',
  'README.md',
  'bin',
  'src',
  'scripts',
  'examples',
  'tsconfig.json',
  'tsconfig.build.json',
];

/** What an installed copy's user writes: the client and the producer, through the package's `exports`. */
const CONSUMER_JS = `
import { createPurgeClient, PurgeApiError } from 'purge-worker/client';
import { createProducer } from 'purge-worker';
const client = createPurgeClient({ baseUrl: process.env.PW_API, token: process.env.PW_TOKEN });
const accepted = await client.purge({ urls: ['https://www.example.com/packaged.html'] }, { idempotencyKey: 'pkg-1' });
const final = await client.waitFor(accepted.id, { timeoutMs: 15000, pollIntervalMs: 20 });
const refused = await client.purge({}).catch((error) => error);
const producer = await createProducer({ config: process.env.PW_CONFIG });
const enqueued = await producer.enqueue({ urls: ['https://www.example.com/packaged-library.html'] });
const finalOfEnqueued = await client.waitFor(enqueued.id, { timeoutMs: 15000, pollIntervalMs: 20 });
await producer.close();
await client.close();
console.log(JSON.stringify({
  accepted, state: final.state, enqueued, enqueuedState: finalOfEnqueued.state,
  refused: { isApiError: refused instanceof PurgeApiError, code: refused.code, status: refused.status },
}));
`;

/** Its types: each @ts-expect-error fails the check if the declarations degraded to `any`. */
const CONSUMER_TS = `
import { createPurgeClient, type ErrorCode, PurgeApiError, type PurgeStatus } from 'purge-worker/client';
import { createProducer, type Producer } from 'purge-worker';
const client = createPurgeClient({ baseUrl: 'http://127.0.0.1:8080', token: 't' });
const status: PurgeStatus = await client.waitFor('id', { timeoutMs: 1000 });
export const state: 'queued' | 'running' | 'succeeded' | 'failed' | 'timed_out' = status.state;
export const code: ErrorCode = new PurgeApiError('NOT_FOUND', 'x').code;
// @ts-expect-error urls is a list
await client.purge({ urls: 'https://www.example.com/' });
// @ts-expect-error not a lane
await client.purge({ urls: [], priority: 'soon' });
const producer: Producer = await createProducer({ config: 'purge-worker.json' });
// @ts-expect-error enqueue takes a request
await producer.enqueue('https://www.example.com/');
`;

/**
 * npm pack (prepack builds dist/) of a copy of this repository, installed into a temporary project as a
 * registry install would place it: under node_modules, where Node strips no types, so only the built
 * JavaScript and declarations `exports` points at can work there.
 */
describe('the packed package, installed', () => {
  const work = mkdtempSync(join(tmpdir(), 'pw-package-'));
  const app = join(work, 'app');
  const installed = join(app, 'node_modules', 'purge-worker');
  const env = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` };
  const prefix = uniquePrefix();
  let simulator: Simulator;
  let api: TestApi;
  let packedFiles: string[];

  beforeAll(async () => {
    simulator = await startSimulator({ vims: { tokens: [TEST_VIMS_TOKEN], taskDurationMs: 20 } });
    api = await startTestApi(
      simulator.url,
      { redis: { url: inject('redisUrl'), prefix } },
      { workers: true },
    );
    await api.app.listen({ host: '127.0.0.1', port: 0 });

    const stage = join(work, 'stage');
    for (const entry of PACKED) cpSync(join(root, entry), join(stage, entry), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'));
    const npm = ['pack', '--json', '--offline', '--no-update-notifier', '--pack-destination', work];
    const packed = await run('npm', npm, { cwd: stage, env, timeout: 60_000 });
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    packedFiles = info?.files.map((file) => file.path) ?? [];

    mkdirSync(join(app, 'node_modules'), { recursive: true });
    await run('tar', ['-xzf', join(work, info?.filename ?? ''), '-C', join(app, 'node_modules')]);
    renameSync(join(app, 'node_modules', 'package'), installed);
    // Its dependencies, as npm would have installed them beside it.
    symlinkSync(join(root, 'node_modules'), join(installed, 'node_modules'));
    writeFileSync(join(app, 'package.json'), '{ "type": "module" }\n');
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await simulator?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('ships the built files and their Lua scripts, not the TypeScript sources', () => {
    expect(packedFiles).toEqual(
      expect.arrayContaining([
        'dist/client/index.js',
        'dist/client/index.d.ts',
        'dist/library.js',
        'dist/library.d.ts',
        'dist/status/ingest.lua',
      ]),
    );
    expect(packedFiles.filter((path) => path.startsWith('src/') || path.startsWith('scripts/'))).toEqual([]);
  });

  it('runs the client and the producer from the built output against the real API', async () => {
    const config = join(work, 'config.json');
    writeFileSync(
      config,
      JSON.stringify(testConfigInput(simulator.url, { redis: { url: inject('redisUrl'), prefix } })),
    );
    writeFileSync(join(app, 'consumer.js'), CONSUMER_JS);
    const { port } = api.app.server.address() as AddressInfo;
    const result = await run(process.execPath, ['consumer.js'], {
      cwd: app,
      timeout: 40_000,
      env: { ...env, PW_API: `http://127.0.0.1:${port}`, PW_TOKEN: API_TOKEN, PW_CONFIG: config },
    });
    const seen = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(seen).toMatchObject({
      accepted: { cdns: ['vims-main'], duplicate: false },
      state: 'succeeded',
      enqueued: { cdns: ['vims-main'], duplicate: false },
      enqueuedState: 'succeeded',
      refused: { isApiError: true, code: 'REQUEST_INVALID', status: 400 },
    });
  }, 45_000);

  it('type-checks a consumer against the declarations its exports name', async () => {
    writeFileSync(join(app, 'consumer.ts'), CONSUMER_TS);
    const tsconfig = {
      compilerOptions: {
        module: 'nodenext',
        target: 'es2024',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
        typeRoots: [join(root, 'node_modules', '@types')],
      },
      files: ['consumer.ts'],
    };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(tsconfig));
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const checked = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], {
      cwd: app,
      timeout: 40_000,
    }).catch((error: { stdout?: string }) => ({ stdout: `tsc failed:\n${error.stdout ?? String(error)}` }));
    expect(checked.stdout).toBe('');
  }, 45_000);

  it('runs the installed purge-worker command from the built output', async () => {
    const result = await run(process.execPath, [join(installed, 'bin', 'purge-worker.js'), '--help'], {
      cwd: app,
      timeout: 20_000,
    });
    expect(result.stdout).toContain('Usage: purge-worker');
  });
});
