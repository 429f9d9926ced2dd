import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PurgeStatus } from '../../src/model/status.ts';
import type { Edge } from '../../src/simulator/edges/fleet.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { type Child, spawnNode } from '../harness/child.ts';
import { type Receiver, startReceiver } from '../harness/receiver.ts';
import { startTestService, TEST_VIMS_TOKEN, type TestService, testConfigInput } from '../harness/service.ts';
import { verifyingVimsEntry } from '../harness/verify-rig.ts';

/**
 * A worker process is SIGKILLed while a batch is being verified at its edges; a worker started afterwards
 * must carry the verification on (the batch's job holds where it stands) and end it as it would have.
 */
describe('a worker killed while a batch is being verified', () => {
  const agent = new Agent();
  let sim: Simulator;
  let producer: TestService;
  let child: Child | undefined;
  let rescuer: TestService | undefined;
  let holding: Receiver | undefined;

  beforeAll(async () => {
    sim = await startSimulator({
      vims: { tokens: [TEST_VIMS_TOKEN], taskDurationMs: 40 },
      edges: { vims: 2, quantil: 0 },
    });
  });
  afterEach(async () => {
    child?.process.kill('SIGKILL');
    await child?.exited();
    await rescuer?.close();
    await producer?.close();
    await holding?.close();
    child = undefined;
    rescuer = undefined;
    holding = undefined;
  });
  afterAll(async () => {
    await sim.close();
    await agent.close();
  });

  function configWith(verify: Record<string, unknown>) {
    return testConfigInput(sim.url, {}, [verifyingVimsEntry(sim, { timeoutMs: 5_000, ...verify })]);
  }

  async function startDoomedWorker(input: unknown): Promise<Child> {
    const started = spawnNode('test/harness/worker-process.ts', [], {
      PURGE_TEST_CONFIG: JSON.stringify(input),
    });
    await started.printed('worker-ready');
    return started;
  }

  async function killAndRescue(input: unknown, id: string): Promise<PurgeStatus> {
    child?.process.kill('SIGKILL');
    await child?.exited();
    rescuer = startTestService(input);
    return rescuer.waitForFinish(id);
  }

  async function warmAndPublish(url: string) {
    const { host, pathname } = new URL(url);
    for (const edge of sim.edges.vims.edges) {
      const res = await request(`${edge.url}${pathname}`, { headers: { host }, dispatcher: agent });
      await res.body.dump();
    }
    sim.edges.origin.publish(url);
  }

  const batchOf = async (id: string) =>
    (await producer.runtime.store.get(id))?.batches.find((batch) => batch.cdnId === 'vims-main');

  it('mid-check, an edge still answering: the rescuer checks again and the batch ends verified', async () => {
    // One edge holds the first check it gets (the doomed worker's) and answers every later one.
    let held = 0;
    holding = await startReceiver((_req, res) => {
      if (held++ === 0) return;
      res.writeHead(200, { age: '0', 'cache-status': 'edge; fwd=miss' }).end();
    });
    const [edge] = sim.edges.vims.edges as [Edge];
    const input = configWith({
      origin: undefined,
      edges: [
        { address: '127.0.0.1', port: edge.port, name: 'edge' },
        { address: '127.0.0.1', port: holding.port, name: 'holding' },
      ],
    });
    producer = startTestService(input, { workers: false });
    child = await startDoomedWorker(input);
    const { id } = await producer.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/killed-mid-check.html'],
    });
    await vi.waitFor(() => expect(holding?.received).toHaveLength(1), { timeout: 10_000, interval: 10 });

    const status = await killAndRescue(input, id);
    expect(status).toMatchObject({ state: 'succeeded', verified: true });
    expect(status.batches[0]?.verification).toMatchObject({
      state: 'fresh',
      counts: { fresh: 2, stale: 0, unverified: 0 },
    });
    expect(holding.received.length).toBeGreaterThanOrEqual(2);
  });

  it('waiting on its re-purge: the rescuer waits for that same re-purge (no second one), then verifies', async () => {
    const input = configWith({});
    const url = 'https://www.example.com/killed-while-repurging.html';
    await warmAndPublish(url);
    sim.edges.missNextPurge('vims-edge-2');
    producer = startTestService(input, { workers: false });
    // The doomed worker is killed once its batch waits on the re-purge it sent (done or not by then).
    child = await startDoomedWorker(input);
    const { id } = await producer.runtime.producer.enqueuePurge({ urls: [url] });
    await vi.waitFor(async () => expect((await batchOf(id))?.verification?.state).toBe('repurging'), {
      timeout: 10_000,
      interval: 10,
    });

    const status = await killAndRescue(input, id);
    expect(status).toMatchObject({ state: 'succeeded', verified: true });
    const verification = status.batches[0]?.verification;
    expect(verification).toMatchObject({ state: 'fresh', repurges: 1 });
    expect(verification?.repurgeIds).toHaveLength(1);
    const repurges = await producer.redis.keys(`${producer.config.redis.prefix}:purge:rp-*`);
    expect(repurges).toEqual([`${producer.config.redis.prefix}:purge:${verification?.repurgeIds?.[0]}`]);
  });
});
