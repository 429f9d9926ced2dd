import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { startTestApi, type TestApi } from '../harness/api.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { flushJob } from '../harness/pending.ts';

/** Reads one sample's value from Prometheus text, or undefined when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

describe('GET /metrics', () => {
  let simulator: Simulator;
  let api: TestApi;

  beforeAll(async () => {
    simulator = await startSimulator(
      VIMS_RIG.simulatorOptions({ taskDurationMs: 100, failMarker: 'broken' }),
    );
    api = await startTestApi(simulator.url, { cdns: [VIMS_RIG.cdnEntry(simulator.url)] }, { workers: true });
  });
  afterAll(async () => {
    await api.close();
    await simulator.close();
  });

  const scrape = async () => {
    const response = await api.app.inject({ url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.body;
  };

  const finishedBatches = (text: string) =>
    ['succeeded', 'failed', 'timed_out']
      .map((state) => sample(text, 'purge_worker_batches_finished_total', { cdn: 'vims-main', state }) ?? 0)
      .reduce((a, b) => a + b, 0);
  const settledJobs = (text: string) =>
    ['completed', 'failed']
      .map((state) => sample(text, 'purge_worker_queue_jobs', { queue: 'cdn-vims-main', state }) ?? 0)
      .reduce((a, b) => a + b, 0);

  /**
   * The worker counts a batch's end and BullMQ completes its job just after the purge record says it is
   * finished, so the scrape waits until this many more batches than in `before` have been counted and their
   * jobs settled. Each test counts from its own `before`: what earlier tests did is theirs.
   */
  const scrapeOnceSettled = (before: string, batches: number) =>
    vi.waitFor(
      async () => {
        const text = await scrape();
        const counted = finishedBatches(text) - finishedBatches(before);
        const settled = settledJobs(text) - settledJobs(before);
        if (counted < batches || settled < batches)
          throw new Error(`${counted}/${settled} of ${batches} settled`);
        return text;
      },
      { timeout: 10_000, interval: 20 },
    );

  /** How much a series grew from one scrape to the next (an absent series counts as 0). */
  const grew = (before: string, after: string, name: string, labels: Record<string, string> = {}) =>
    (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);

  it("reflects a purge's counts exactly: accepted, calls by outcome, retries, polls, terminal state, queue depth", async () => {
    const before = await scrape();
    simulator.vims.faults.inject('submit', { kind: 'status', status: 503 });
    const { id } = await api.service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/m.html'],
    });
    const status = await api.service.waitForFinish(id);
    const polls = status.batches[0]?.polls ?? -1;
    const text = await scrapeOnceSettled(before, 1);
    const cdn = { cdn: 'vims-main' };
    const by = (name: string, labels: Record<string, string> = {}) => grew(before, text, name, labels);

    expect(by('purge_worker_purges_accepted_total')).toBe(1);
    expect(by('purge_worker_cdn_requests_total', { ...cdn, op: 'submit', outcome: '5xx' })).toBe(1);
    expect(by('purge_worker_cdn_requests_total', { ...cdn, op: 'submit', outcome: '2xx' })).toBe(1);
    expect(by('purge_worker_cdn_requests_total', { ...cdn, op: 'poll', outcome: '2xx' })).toBe(polls);
    expect(by('purge_worker_retries_total', { ...cdn, op: 'submit' })).toBe(1);
    expect(by('purge_worker_batches_finished_total', { ...cdn, state: 'succeeded' })).toBe(1);
    expect(by('purge_worker_polls_per_batch_count', cdn)).toBe(1);
    expect(by('purge_worker_polls_per_batch_sum', cdn)).toBe(polls);
    expect(by('purge_worker_time_to_submit_seconds_count', cdn)).toBe(1);
    expect(by('purge_worker_time_to_completion_seconds_count', { ...cdn, state: 'succeeded' })).toBe(1);
    expect(by('purge_worker_queue_jobs', { queue: 'cdn-vims-main', state: 'completed' })).toBe(1);
    expect(sample(text, 'purge_worker_queue_jobs', { queue: 'cdn-vims-main', state: 'waiting' })).toBe(0);
    expect(sample(text, 'purge_worker_queue_oldest_waiting_seconds', { queue: 'cdn-vims-main' })).toBe(0);
    expect(sample(text, 'purge_worker_process_cpu_seconds_total')).toBeGreaterThan(0);
  });

  it('counts a CDN-reported failure by its terminal state', async () => {
    const before = await scrape();
    const { id } = await api.service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/broken'],
    });
    await api.service.waitForFinish(id);
    const text = await scrapeOnceSettled(before, 1);
    const cdn = { cdn: 'vims-main' };
    expect(grew(before, text, 'purge_worker_batches_finished_total', { ...cdn, state: 'failed' })).toBe(1);
    expect(grew(before, text, 'purge_worker_batches_finished_total', { ...cdn, state: 'succeeded' })).toBe(0);
    expect(grew(before, text, 'purge_worker_queue_jobs', { queue: 'cdn-vims-main', state: 'failed' })).toBe(
      1,
    );
  });

  it('shows work no worker has taken: queue depth and the age of the oldest waiting job', async () => {
    const idle = await startTestApi(
      simulator.url,
      { cdns: [{ ...VIMS_RIG.cdnEntry(simulator.url), coalesce: { windowMs: 0 } }] },
      { workers: false },
    );
    try {
      await idle.service.runtime.producer.enqueuePurge({ urls: ['https://www.example.com/w.html'] });
      const job = await flushJob(idle.service.runtime.producer.queues.get('vims-main'), 'vims-main');
      const text = (await idle.app.inject({ url: '/metrics' })).body;
      expect(sample(text, 'purge_worker_queue_jobs', { queue: 'cdn-vims-main', state: 'waiting' })).toBe(1);
      const age = sample(text, 'purge_worker_queue_oldest_waiting_seconds', { queue: 'cdn-vims-main' }) ?? -1;
      expect(age).toBeGreaterThan(0);
      expect(age).toBeLessThanOrEqual((Date.now() - (job?.timestamp ?? 0)) / 1000);
    } finally {
      await idle.close();
    }
  });
});
