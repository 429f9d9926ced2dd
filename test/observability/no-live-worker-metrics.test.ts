import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OVERDUE_GRACE_MS } from '../../src/observability/queue-gauges.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { startTestApi, type TestApi } from '../harness/api.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { sample } from '../harness/prometheus-text.ts';

/**
 * Every worker stopped while a batch polls: its job sits in BullMQ's `delayed`, so the oldest-waiting gauge
 * stays 0. The scrape (from the API process, which runs no worker) must still say there is no worker and
 * that the poll is overdue. Time past the overdue grace is the service's clock moved on, not waited for.
 */
describe('metrics when no worker is alive', () => {
  let simulator: Simulator;
  let api: TestApi;
  let skewMs = 0;

  beforeAll(async () => {
    // A task that never ends: the batch polls for as long as the test needs.
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 600_000 }));
    api = await startTestApi(
      simulator.url,
      { cdns: [{ ...VIMS_RIG.cdnEntry(simulator.url), coalesce: { windowMs: 0 } }] },
      { workers: false, now: () => Date.now() + skewMs },
    );
  });
  afterAll(async () => {
    await api.close();
    await simulator.close();
  });

  const scrape = async () => {
    const response = await api.app.inject({ url: '/metrics' });
    expect(response.statusCode).toBe(200);
    return response.body;
  };
  const cdnQueue = { queue: 'cdn-vims-main' };

  it('counts live workers per queue, 0 once they stop, and the poll that came due with nobody to take it', async () => {
    const before = await scrape();
    expect(sample(before, 'purge_worker_queue_workers', cdnQueue)).toBe(0);
    expect(sample(before, 'purge_worker_queue_workers', { queue: 'callbacks' })).toBe(0);

    const pool = api.service.runtime.startWorkers();
    await vi.waitFor(
      async () => {
        const text = await scrape();
        expect(sample(text, 'purge_worker_queue_workers', cdnQueue)).toBe(1);
        expect(sample(text, 'purge_worker_queue_workers', { queue: 'callbacks' })).toBe(1);
      },
      { timeout: 10_000, interval: 50 },
    );

    const { id } = await api.service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/never-done.html'],
    });
    await vi.waitFor(
      async () => {
        const status = await api.service.runtime.store.get(id);
        expect(status?.batches[0]?.polls ?? 0).toBeGreaterThanOrEqual(1);
      },
      { timeout: 10_000, interval: 20 },
    );
    await pool.close();

    // Nobody left: the poll's due time passes (polls are at most 100 ms apart here) and it stays delayed.
    const stopped = await vi.waitFor(
      async () => {
        const text = await scrape();
        expect(sample(text, 'purge_worker_queue_oldest_overdue_seconds', cdnQueue)).toBeGreaterThan(0);
        return text;
      },
      { timeout: 10_000, interval: 50 },
    );
    expect(sample(stopped, 'purge_worker_queue_workers', cdnQueue)).toBe(0);
    expect(sample(stopped, 'purge_worker_queue_workers', { queue: 'callbacks' })).toBe(0);
    expect(sample(stopped, 'purge_worker_queue_jobs', { ...cdnQueue, state: 'delayed' })).toBe(1);
    // What the old alert read, blind to it:
    expect(sample(stopped, 'purge_worker_queue_oldest_waiting_seconds', cdnQueue)).toBe(0);
    // Within the grace a due job is not counted yet: a live but busy worker may be a moment late.
    expect(sample(stopped, 'purge_worker_queue_overdue_delayed_jobs', cdnQueue)).toBe(0);

    skewMs = OVERDUE_GRACE_MS + 5_000;
    const later = await scrape();
    expect(sample(later, 'purge_worker_queue_overdue_delayed_jobs', cdnQueue)).toBe(1);
    expect(sample(later, 'purge_worker_queue_overdue_delayed_jobs', { queue: 'callbacks' })).toBe(0);
    expect(sample(later, 'purge_worker_queue_oldest_overdue_seconds', cdnQueue)).toBeGreaterThan(
      OVERDUE_GRACE_MS / 1000,
    );
    expect(sample(later, 'purge_worker_queue_oldest_overdue_seconds', { queue: 'callbacks' })).toBe(0);
  });
});
