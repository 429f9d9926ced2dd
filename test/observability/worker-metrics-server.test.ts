import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RunningService, runService } from '../../src/service.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

describe('a worker-only process', () => {
  let simulator: Simulator;
  let worker: RunningService;
  let producer: TestService;

  beforeAll(async () => {
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 50 }));
    const input = testConfigInput(simulator.url, { log: { level: 'silent' } }, [
      VIMS_RIG.cdnEntry(simulator.url),
    ]);
    const configPath = join(await mkdtemp(join(tmpdir(), 'pw-worker-role-')), 'config.json');
    await writeFile(configPath, JSON.stringify(input));
    worker = await runService({ configPath, role: 'worker', pretty: false });
    producer = startTestService(input, { workers: false });
  });
  afterAll(async () => {
    await worker.stop('test over');
    await producer.close();
    await simulator.close();
  });

  it('serves its own /metrics, counting the purges it carried out, and no purge API', async () => {
    const { id } = await producer.runtime.producer.enqueuePurge({ urls: ['https://www.example.com/w.html'] });
    await producer.waitForFinish(id);
    // The worker counts the batch's end just after it writes the record the wait above reads.
    const text = await vi.waitFor(
      async () => {
        const metrics = await request(`${worker.address}/metrics`);
        expect(metrics.statusCode).toBe(200);
        const body = await metrics.body.text();
        if (!body.includes('purge_worker_batches_finished_total{')) throw new Error('not counted yet');
        return body;
      },
      { timeout: 10_000, interval: 20 },
    );
    expect(text).toMatch(/^purge_worker_batches_finished_total\{cdn="vims-main",state="succeeded"\} 1$/m);
    expect(text).toMatch(/^purge_worker_cdn_requests_total\{cdn="vims-main",op="submit",outcome="2xx"\} 1$/m);

    const ready = await request(`${worker.address}/readyz`);
    expect(ready.statusCode).toBe(200);
    await ready.body.dump();
    const api = await request(`${worker.address}/v1/purges`, { method: 'POST' });
    expect(api.statusCode).toBe(404);
    await api.body.dump();
  });
});
