import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { flushJob, pendingTargets } from '../harness/pending.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';
import { purgeKeys, runCli, writeConfig } from './cli.ts';

describe('purge-worker purge <url>', () => {
  let simulator: Simulator;
  let input: ReturnType<typeof testConfigInput>;
  let configPath: string;
  // No workers: what the CLI enqueued stays exactly as it wrote it.
  let observer: TestService;

  beforeAll(async () => {
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 50 }));
    input = testConfigInput(simulator.url, {}, [VIMS_RIG.cdnEntry(simulator.url)]);
    configPath = await writeConfig(input);
    observer = startTestService(input, { workers: false });
  });
  afterAll(async () => {
    await observer.close();
    await simulator.close();
  });

  it('prints the purge id and its CDNs, exits 0, and leaves a queued record, its pending target and a flush in Redis', async () => {
    const result = await runCli(['-c', configPath, 'purge', 'https://www.example.com/a.html']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const match = /^purge ([0-9a-f-]{36}) queued for vims-main\n$/.exec(result.stdout);
    expect(match, result.stdout).not.toBeNull();
    const id = match?.[1] ?? '';

    const status = await observer.runtime.store.get(id);
    expect(status).toMatchObject({ id, state: 'queued', cdns: ['vims-main'], request: { urls: 1, dirs: 0 } });
    expect(status?.targets).toEqual({
      'vims-main': { total: 1, succeeded: 0, failed: 0, timedOut: 0, pending: 1 },
    });
    expect(status?.batches).toEqual([]);
    expect(await purgeKeys(observer.redis, input.redis.prefix)).toContain(
      `${input.redis.prefix}:purge:${id}`,
    );

    expect(await pendingTargets(observer.redis, input.redis.prefix, 'vims-main')).toContain(
      'u https://www.example.com/a.html',
    );
    const flush = await flushJob(observer.runtime.producer.queues.get('vims-main'), 'vims-main');
    expect(flush?.data).toEqual({ cdnId: 'vims-main', step: 'take', polls: 0 });
  });

  it('with --json prints one parseable JSON object carrying the id', async () => {
    const result = await runCli([
      '-c',
      configPath,
      'purge',
      '--json',
      'https://www.example.com/b.html',
      'https://www.example.com/c.html',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as { id: string; cdns: string[]; duplicate: boolean };
    expect(printed).toEqual({ id: expect.any(String), cdns: ['vims-main'], duplicate: false });
    expect(await observer.runtime.store.get(printed.id)).toMatchObject({
      id: printed.id,
      state: 'queued',
      request: { urls: 2 },
    });
  });

  it('with an --idempotency-key already used says it is a repeat and enqueues nothing new', async () => {
    const url = 'https://www.example.com/d.html';
    const first = await observer.runtime.producer.enqueuePurge(
      { urls: [url] },
      { idempotency: { scope: 'cli', key: 'cli-repeat' } },
    );
    const queue = observer.runtime.producer.queues.get('vims-main');
    const records = await purgeKeys(observer.redis, input.redis.prefix);
    const jobs = await queue?.count();

    const result = await runCli(['-c', configPath, 'purge', '--idempotency-key', 'cli-repeat', url]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`purge ${first.id} queued for vims-main (repeat of an earlier request)\n`);
    expect(await purgeKeys(observer.redis, input.redis.prefix)).toEqual(records);
    expect(await queue?.count()).toBe(jobs);
  });
  it('with --priority puts the purge in that lane, and refuses a lane that does not exist with exit 2', async () => {
    const result = await runCli([
      '-c',
      configPath,
      'purge',
      '--json',
      '--priority',
      'urgent',
      'https://www.example.com/e.html',
    ]);
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as { id: string };
    expect((await observer.runtime.store.get(printed.id))?.priority).toBe('urgent');

    const refused = await runCli([
      '-c',
      configPath,
      'purge',
      '--priority',
      'asap',
      'https://www.example.com/f.html',
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/priority/);
  });
});
