import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { RIGS, type SimHandle } from '../harness/cdn-rigs.ts';
import { type Child, spawnNode } from '../harness/child.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

/**
 * A worker process is SIGKILLed at the worst moments; a worker started afterwards (here, in the test
 * process) must take the job over once its lock lapses and finish the purge.
 */
describe.each(RIGS)('a $provider worker killed mid-flight', (rig) => {
  let simulator: Simulator;
  let sim: SimHandle;
  let input: ReturnType<typeof testConfigInput>;
  let producer: TestService;
  let child: Child | undefined;
  let rescuer: TestService | undefined;

  beforeAll(async () => {
    simulator = await startSimulator(rig.simulatorOptions({ taskDurationMs: 100 }));
    sim = rig.sim(simulator);
    input = testConfigInput(simulator.url, {}, [rig.cdnEntry(simulator.url)]);
    producer = startTestService(input, { workers: false });
  });
  afterEach(async () => {
    child?.process.kill('SIGKILL');
    await child?.exited();
    await rescuer?.close();
    child = undefined;
    rescuer = undefined;
  });
  afterAll(async () => {
    await producer.close();
    await simulator.close();
  });

  async function startDoomedWorker(): Promise<Child> {
    const started = spawnNode('test/harness/worker-process.ts', [], {
      PURGE_TEST_CONFIG: JSON.stringify(input),
    });
    await started.printed('worker-ready');
    return started;
  }

  const submitCount = () => sim.requests('submit').length;

  /** Enqueues a purge, SIGKILLs the worker while its `op` call is at the CDN, then starts a rescuing worker. */
  async function purgeKilledDuring(op: 'submit' | 'status', url: string) {
    const held = sim.holdNext(op);
    child = await startDoomedWorker();
    const { id } = await producer.runtime.producer.enqueuePurge({ urls: [url] });
    await held.arrived; // the CDN has done the work; its answer is still on the way
    child.process.kill('SIGKILL');
    await child.exited();
    held.release();
    rescuer = startTestService(input);
    return rescuer.waitForFinish(id);
  }

  it('after the CDN accepted but before the task id was stored: the purge is submitted again and completes', async () => {
    const submitsBefore = submitCount();
    const status = await purgeKilledDuring('submit', 'https://www.example.com/crash-1.html');
    expect(status.state).toBe('succeeded');
    expect(status.batches[0]?.attempts).toBe(2);
    expect(submitCount() - submitsBefore).toBe(2);
    expect(status.batches[0]?.remoteId).toBe(sim.remoteIds().at(-1));
  });

  it('after the task id was stored: the purge is polled, not submitted again', async () => {
    const submitsBefore = submitCount();
    const status = await purgeKilledDuring('status', 'https://www.example.com/crash-2.html');
    expect(status.state).toBe('succeeded');
    expect(status.batches[0]?.attempts).toBe(1);
    expect(submitCount() - submitsBefore).toBe(1);
  });

  it('after more crashes than maxStalledCount allows: the purge ends failed, not stuck running', async () => {
    const held = sim.holdNext('submit');
    child = await startDoomedWorker();
    const { id } = await producer.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/crash-3.html'],
    });
    await held.arrived;
    child.process.kill('SIGKILL');
    await child.exited();
    held.release();
    // A rescuer that tolerates no stall at all: BullMQ fails the job itself, outside any step of ours.
    rescuer = startTestService({ ...input, worker: { ...input.worker, maxStalledCount: 0 } });
    const status = await rescuer.waitForFinish(id);
    expect(status.state).toBe('failed');
    expect(status.batches[0]?.error).toMatch(/stalled/);
  });
});
