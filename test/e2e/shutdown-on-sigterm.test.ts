import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { spawnNode } from '../harness/child.ts';
import { batchJobIdOf, flushJob } from '../harness/pending.ts';
import { startTestService, TEST_VIMS_TOKEN, type TestService, testConfigInput } from '../harness/service.ts';

describe('the service on SIGTERM', () => {
  let simulator: Simulator;
  let input: ReturnType<typeof testConfigInput>;
  let configPath: string;
  let producer: TestService;

  beforeAll(async () => {
    simulator = await startSimulator({ vims: { tokens: [TEST_VIMS_TOKEN], taskDurationMs: 100 } });
    input = testConfigInput(simulator.url);
    configPath = join(await mkdtemp(join(tmpdir(), 'pw-shutdown-')), 'config.json');
    // A grace period far longer than any wait below: the in-flight submit must end by finishing, not by release.
    await writeFile(
      configPath,
      JSON.stringify({ ...input, worker: { ...input.worker, shutdownGraceMs: 20_000 } }),
    );
    producer = startTestService(input, { workers: false });
  });
  afterAll(async () => {
    await producer.close();
    await simulator.close();
  });

  it('finishes the in-flight submit, stops taking jobs, and exits 0', async () => {
    const queue = producer.runtime.producer.queues.get('vims-main');
    const submits = () => simulator.vims.requests.filter((r) => r.op === 'submit').length;
    const submitsBefore = submits();
    const held = simulator.vims.holdNext('submit');
    const service = spawnNode('src/main.ts', ['--config', configPath], {});
    await service.printed('purge-worker started');
    const { id } = await producer.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/sigterm.html'],
    });
    await held.arrived;
    expect(await queue?.getWorkersCount()).toBeGreaterThan(0);

    service.process.kill('SIGTERM');
    await service.printed('shutting down');
    // Its worker lets go of the connection it takes jobs on while the submit is still in flight...
    await vi.waitFor(async () => expect(await queue?.getWorkersCount()).toBe(0), {
      timeout: 10_000,
      interval: 20,
    });
    const batchId = String((await producer.runtime.store.get(id))?.batches[0]?.batchId);
    expect(await (await queue?.getJob(batchJobIdOf(batchId, 'vims-main')))?.getState()).toBe('active');
    // ...and a job due from then on, with slots free and the process still running, is left to others.
    const { id: later } = await producer.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/after-sigterm.html'],
    });
    await producer.runtime.producer.flushes.ensure('vims-main', { delayMs: 0 });
    const laterFlush = await flushJob(queue, 'vims-main');
    expect(await laterFlush?.getState()).toBe('waiting');
    held.release();
    expect(await service.exited()).toBe(0);
    expect(service.output()).toContain('"msg":"stopped"');

    // The submit in flight completed: the task id is recorded, so whoever polls next does not resubmit.
    const afterStop = await producer.runtime.store.get(id);
    expect(afterStop?.batches[0]).toMatchObject({ state: 'submitted', attempts: 1 });
    expect(await laterFlush?.getState()).toBe('waiting');
    expect(await producer.runtime.store.get(later)).toMatchObject({ state: 'queued', batches: [] });
    expect(submits() - submitsBefore).toBe(1);

    const successor = startTestService(input);
    try {
      const status = await successor.waitForFinish(id);
      expect(status.batches[0]).toMatchObject({ state: 'succeeded', attempts: 1 });
      expect((await successor.waitForFinish(later)).state).toBe('succeeded');
      expect(submits() - submitsBefore).toBe(2);
    } finally {
      await successor.close();
    }
  });

  it('past the grace period, lets go of a stuck call and exits; another worker finishes the purge', async () => {
    const stuckPath = join(await mkdtemp(join(tmpdir(), 'pw-grace-')), 'config.json');
    await writeFile(
      stuckPath,
      JSON.stringify({ ...input, worker: { ...input.worker, shutdownGraceMs: 300 } }),
    );
    const submitsBefore = simulator.vims.requests.filter((r) => r.op === 'submit').length;
    const held = simulator.vims.holdNext('submit'); // the CDN never answers while the service stops
    const service = spawnNode('src/main.ts', ['--config', stuckPath], {});
    await service.printed('purge-worker started');
    const { id } = await producer.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/stuck.html'],
    });
    await held.arrived;

    service.process.kill('SIGTERM');
    expect(await service.exited()).toBe(0);
    expect(service.output()).toContain('releasing them to other workers');
    held.release();

    const successor = startTestService(input);
    try {
      const status = await successor.waitForFinish(id);
      expect(status.batches[0]).toMatchObject({ state: 'succeeded', attempts: 2 });
      expect(simulator.vims.requests.filter((r) => r.op === 'submit').length - submitsBefore).toBe(2);
    } finally {
      await successor.close();
    }
  });

  it('past the grace period, releases a job on its last attempt without failing its batch; another worker finishes it', async () => {
    // One submit attempt only: any failure now would be the last, so only a release keeps the purge alive.
    const lastInput = {
      ...input,
      policy: { ...input.policy, submit: { ...input.policy.submit, attempts: 1 } },
      worker: { ...input.worker, shutdownGraceMs: 300 },
    };
    const lastPath = join(await mkdtemp(join(tmpdir(), 'pw-last-')), 'config.json');
    await writeFile(lastPath, JSON.stringify(lastInput));
    const lastProducer = startTestService(lastInput, { workers: false });
    try {
      const held = simulator.vims.holdNext('submit');
      const service = spawnNode('src/main.ts', ['--config', lastPath], {});
      await service.printed('purge-worker started');
      const { id } = await lastProducer.runtime.producer.enqueuePurge({
        urls: ['https://www.example.com/last-attempt.html'],
      });
      await held.arrived;

      service.process.kill('SIGTERM');
      expect(await service.exited()).toBe(0);
      expect(service.output()).toContain('releasing them to other workers');
      expect(service.output()).toContain('job released');
      held.release();
      const afterStop = await lastProducer.runtime.store.get(id);
      expect(afterStop?.batches[0]?.state).toBe('submitting');

      const successor = startTestService(lastInput);
      try {
        const status = await successor.waitForFinish(id);
        expect(status.batches[0]).toMatchObject({ state: 'succeeded', attempts: 2 });
      } finally {
        await successor.close();
      }
    } finally {
      await lastProducer.close();
    }
  });

  it('exits 2 naming the bad field when the config is invalid', async () => {
    const badPath = join(await mkdtemp(join(tmpdir(), 'pw-badconfig-')), 'config.json');
    await writeFile(badPath, JSON.stringify({ ...input, cdns: [{ ...input.cdns[0], token: '' }] }));
    const service = spawnNode('src/main.ts', ['--config', badPath], {});
    expect(await service.exited()).toBe(2);
    expect(service.output()).toContain('cdns[0].token: token is required');
  });
});
