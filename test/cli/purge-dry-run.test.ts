import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.ts';
import type { Provider } from '../../src/providers/provider.ts';
import type { DryRunReport } from '../../src/queue/dry-run.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { QUANTIL_RIG, VIMS_RIG } from '../harness/cdn-rigs.ts';
import { uniquePrefix } from '../harness/prefix.ts';
import { type SpawnedRedis, spawnRedisServer } from '../harness/redis-server.ts';
import { settled, snapshot } from '../harness/redis-snapshot.ts';
import { startTestService, testConfigInput } from '../harness/service.ts';
import { runCli, writeConfig } from './cli.ts';

const page = (name: string) => `https://www.example.com/${name}`;
const stories = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => page(`story-${from + i}.html`));

/**
 * `purge-worker purge --dry-run`, the real binary: what the purge would do now, as a table or JSON, exit 0
 * or DRY_RUN_REFUSED. On a Redis server of this file's own, so "writes nothing" covers the whole server.
 */
describe('purge-worker purge --dry-run', () => {
  let server: SpawnedRedis;
  let redis: Redis;
  let simulator: Simulator;

  beforeAll(async () => {
    server = await spawnRedisServer();
    redis = new Redis(server.url);
    simulator = await startSimulator({
      ...VIMS_RIG.simulatorOptions({ taskDurationMs: 20 }),
      ...QUANTIL_RIG.simulatorOptions({ taskDurationMs: 20 }),
    });
  });
  afterAll(async () => {
    await simulator?.close();
    redis?.disconnect();
    await server?.stop();
  });

  /** A config on the file's Redis, under a prefix of its own; `observe` also starts a service on it (no workers). */
  async function setup(observe = true) {
    const input = testConfigInput(
      simulator.url,
      { redis: { url: server.url, prefix: uniquePrefix('cli-dry') } },
      [VIMS_RIG.cdnEntry(simulator.url), { ...QUANTIL_RIG.cdnEntry(simulator.url), maxItemsPerCall: 2 }],
    );
    const configPath = await writeConfig(input);
    if (!observe) return { configPath, service: undefined };
    const service = startTestService(input, { workers: false });
    // The service's queues write their BullMQ meta keys once connected; after that every write is a test's.
    await vi.waitFor(async () => {
      for (const queue of service.runtime.queues())
        if (!(await redis.exists(`${queue.qualifiedName}:meta`))) throw new Error('not yet');
    });
    return { configPath, service };
  }

  /** Runs the CLI and shows the server unchanged by it: every key byte for byte, and no write at all. */
  async function dryRun(configPath: string, args: string[]) {
    await settled(redis);
    const before = await snapshot(redis);
    const result = await runCli(['-c', configPath, 'purge', '--dry-run', ...args]);
    expect(await snapshot(redis)).toEqual(before);
    return result;
  }

  it('writes nothing, not even the BullMQ meta keys of queues nobody has used yet', async () => {
    const { configPath } = await setup(false);
    const keysBefore = await redis.dbsize();
    const result = await dryRun(configPath, [page('fresh.html')]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(EXIT.OK);
    expect(await redis.dbsize()).toBe(keysBefore);
  });

  it('prints a table per CDN and the calls the next flushes would make, pending targets included', async () => {
    const { configPath, service } = await setup();
    try {
      await service?.runtime.producer.enqueuePurge({ urls: stories(1, 3) });
      const result = await dryRun(configPath, [page('story-2.html'), ...stories(7, 2)]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(EXIT.OK);
      const lines = result.stdout.split('\n');
      expect(lines[0]).toBe('dry run: would be accepted as a new purge; nothing was written');
      expect(lines[2]).toMatch(/^CDN +TARGETS +ALREADY PENDING +PENDING NOW +CALLS +QUOTA TODAY/);
      expect(lines[3]).toMatch(/^vims-main +3 urls +1 url +3 +1 +no daily quota$/);
      expect(lines[4]).toMatch(/^quantil-main +3 urls +1 url +3 +3 +urls 2 of \d+ left; dirs 0 of 500 left$/);
      expect(result.stdout).toContain('  vims-main: 5 urls (3 of this request)\n');
      // 2 a call, oldest first: the pending three (the joined one among them), then the two new ones.
      expect(result.stdout).toContain(
        '  quantil-main: 2 × 2 urls (1 of this request); 1 url (1 of this request)\n',
      );
    } finally {
      await service?.close();
    }
  });

  it('with --json predicts the calls the real purge then makes on the CDN', async () => {
    const { configPath, service } = await setup();
    if (!service) throw new Error('no service');
    try {
      const earlier = await service.runtime.producer.enqueuePurge({ urls: stories(20, 3) });
      const urls = [page('story-21.html'), ...stories(30, 4)];
      const result = await dryRun(configPath, ['--json', ...urls]);
      expect(result.code).toBe(EXIT.OK);
      const report = JSON.parse(result.stdout) as DryRunReport;
      expect(report).toMatchObject({ dryRun: true, outcome: 'accepted', wouldBeRefused: [] });

      const real = await runCli(['-c', configPath, 'purge', '--json', ...urls]);
      expect(real.code).toBe(EXIT.OK);
      const { id } = JSON.parse(real.stdout) as { id: string };
      const before = simulator.quantil.purges.length;
      service.runtime.startWorkers();
      for (const purgeId of [earlier.id, id])
        expect((await service.waitForFinish(purgeId)).state).toBe('succeeded');

      const ours = new Set(urls);
      const made = simulator.quantil.purges.slice(before).map(({ items }) => ({
        urls: items.length,
        dirs: 0,
        tags: 0,
        pattern: 0,
        all: 0,
        fromThisRequest: items.filter((item) => ours.has(item.path)).length,
      }));
      const sorted = (calls: readonly object[] = []) => calls.map((call) => JSON.stringify(call)).sort();
      expect(report.cdns['quantil-main']?.calls).toHaveLength(4);
      expect(sorted(made)).toEqual(sorted(report.cdns['quantil-main']?.calls));
    } finally {
      await service.close();
    }
  });

  it(`exits ${EXIT.DRY_RUN_REFUSED} naming each refusal: a kind a CDN cannot purge, and the daily quota`, async () => {
    const { configPath, service } = await setup();
    if (!service) throw new Error('no service');
    try {
      const quantil = service.runtime.providers.get('quantil-main') as Provider;
      const counter = service.runtime.quota.countersFor(quantil, Date.now()).urls;
      if (!counter) throw new Error('QUANTIL has a urls quota');
      await redis.set(counter.key, 4_999);

      const over = await dryRun(configPath, stories(1, 2));
      expect(over.code).toBe(EXIT.DRY_RUN_REFUSED);
      expect(over.stdout).toMatch(/^dry run: would be refused \(QUOTA_EXCEEDED\); nothing was written\n/);
      expect(over.stdout).toMatch(/quantil-main +2 urls +none +0 +1 +urls 2 of 1 left; dirs 0 of 500 left\n/);
      expect(over.stdout).toContain(
        'would be refused:\n  QUOTA_EXCEEDED: CDN quantil-main: daily quota of 5000 urls would be exceeded (2 to charge, 1 left today, UTC)\n',
      );
      const real = await runCli(['-c', configPath, 'purge', ...stories(1, 2)]);
      expect(real.code).toBe(EXIT.USAGE);
      expect(real.stderr).toMatch(/quantil-main: daily quota of 5000 urls would be exceeded/);

      const kind = await dryRun(configPath, ['--json', '--pattern', '^/live/', '--cdn', 'quantil-main']);
      expect(kind.code).toBe(EXIT.DRY_RUN_REFUSED);
      expect(JSON.parse(kind.stdout)).toMatchObject({
        outcome: 'refused',
        wouldBeRefused: [{ code: 'KIND_UNSUPPORTED', cdn: 'quantil-main' }],
      });
    } finally {
      await service.close();
    }
  });

  it('says a repeat of an --idempotency-key is a duplicate (exit 0) and its reuse for another purge is refused', async () => {
    const { configPath, service } = await setup();
    if (!service) throw new Error('no service');
    try {
      const first = await service.runtime.producer.enqueuePurge(
        { urls: [page('keyed.html')] },
        { idempotency: { scope: 'cli', key: 'cli-dry-1' } },
      );
      const repeat = await dryRun(configPath, ['--idempotency-key', 'cli-dry-1', page('keyed.html')]);
      expect(repeat.code).toBe(EXIT.OK);
      expect(repeat.stdout.split('\n')[0]).toBe(
        `dry run: a repeat of purge ${first.id}: answered with it, nothing new would be sent; nothing was written`,
      );
      const reuse = await dryRun(configPath, [
        '--json',
        '--idempotency-key',
        'cli-dry-1',
        page('other.html'),
      ]);
      expect(reuse.code).toBe(EXIT.DRY_RUN_REFUSED);
      expect(JSON.parse(reuse.stdout)).toMatchObject({
        outcome: 'refused',
        wouldBeRefused: [{ code: 'IDEMPOTENCY_KEY_REUSED', message: expect.stringMatching(/"cli-dry-1"/) }],
      });
    } finally {
      await service.close();
    }
  });

  it('refuses --wait, and bad input, as usage errors (exit 2)', async () => {
    const { configPath } = await setup(false);
    const wait = await dryRun(configPath, ['--wait', page('a.html')]);
    expect(wait.code).toBe(EXIT.USAGE);
    expect(wait.stderr).toMatch(/--dry-run sends nothing/);
    const bad = await dryRun(configPath, ['https://unrouted.example.org/a']);
    expect(bad.code).toBe(EXIT.USAGE);
    expect(bad.stderr).toMatch(/no route covers host/);
  });
});
