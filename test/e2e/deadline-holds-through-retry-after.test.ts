import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BatchStatus } from '../../src/model/status.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { QUANTIL_RIG, VIMS_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

// Long enough that a batch paused by another's 429 can be told to end at its own deadline, not at the other's,
// with hundreds of ms between the two.
const DEADLINE_MS = 2_000;
// Uncapped, these waits would be 31 years and an hour; the batch must still end this close to its deadline.
const LATE_BY_AT_MOST_MS = 1_000;
const FOR_EVER = 10_000;

/**
 * Two CDNs on one simulator: QUANTIL is the one that asks us to wait far past the batch's deadline, VIMS the
 * bystander whose purges must not notice.
 */
describe("a CDN whose Retry-After reaches past a batch's deadline", () => {
  let simulator: Simulator;
  let service: TestService;
  let receiver: Server;
  let callbackUrl: string;
  const callbacks: Array<{ id: string; state: string }> = [];

  beforeAll(async () => {
    simulator = await startSimulator({
      ...VIMS_RIG.simulatorOptions({ taskDurationMs: 0 }),
      ...QUANTIL_RIG.simulatorOptions({ taskDurationMs: 60_000 }),
    });
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        callbacks.push(JSON.parse(body) as { id: string; state: string });
        res.statusCode = 204;
        res.end();
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/done`;
    const quantil = { ...QUANTIL_RIG.cdnEntry(simulator.url), policy: { poll: { deadlineMs: DEADLINE_MS } } };
    service = startTestService(
      testConfigInput(
        simulator.url,
        {
          callbacks: {
            secret: 'test-callback-secret-0123',
            initialIntervalMs: 20,
            allowHosts: ['127.0.0.1'],
          },
        },
        [VIMS_RIG.cdnEntry(simulator.url), quantil],
      ),
    );
  });
  afterEach(() => simulator.quantil.faults.clear());
  afterAll(async () => {
    await service.close();
    receiver.close();
    await simulator.close();
  });

  const batchOf = (batches: BatchStatus[], cdnId: string) =>
    batches.find((batch) => batch.cdnId === cdnId) as BatchStatus;

  async function expectTimedOutOnTime(id: string): Promise<BatchStatus> {
    const status = await service.waitForFinish(id, 10_000);
    expect(status.state).toBe('timed_out');
    const held = batchOf(status.batches, QUANTIL_RIG.cdnId);
    expect(held.state).toBe('timed_out');
    const lived = (held.finishedAt ?? 0) - (held.acceptedAt ?? 0);
    expect(lived).toBeGreaterThanOrEqual(DEADLINE_MS);
    expect(lived).toBeLessThan(DEADLINE_MS + LATE_BY_AT_MOST_MS);
    const bystander = batchOf(status.batches, VIMS_RIG.cdnId);
    expect(bystander.state).toBe('succeeded');
    expect((bystander.finishedAt ?? 0) - (bystander.acceptedAt ?? 0)).toBeLessThan(DEADLINE_MS);
    return held;
  }

  it('ends the batch timed_out at its deadline when every submit gets 429 with a huge Retry-After, and calls back', async () => {
    simulator.quantil.faults.inject(
      'submit',
      { kind: 'status', status: 429, retryAfter: '999999999' },
      FOR_EVER,
    );
    const { id } = await service.runtime.producer.enqueuePurge(
      { urls: ['https://www.example.com/held.html'] },
      { callbackUrl },
    );
    // While QUANTIL's queue is paused, a purge for the other CDN alone goes through at once.
    const { id: other } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/other.html'],
      cdns: [VIMS_RIG.cdnId],
    });
    expect((await service.waitForFinish(other, 2_000)).state).toBe('succeeded');

    const held = await expectTimedOutOnTime(id);
    expect(held.error).toBe(
      'queue deadline passed (policy.queueDeadlineMs) before the CDN accepted the purge',
    );
    await vi.waitFor(() => expect(callbacks.find((c) => c.id === id)).toMatchObject({ state: 'timed_out' }), {
      timeout: 5_000,
      interval: 20,
    });
  });

  it('ends the batch timed_out at its deadline instead of retrying a 503 with Retry-After: 3600 an hour later', async () => {
    simulator.quantil.faults.inject(
      'submit',
      { kind: 'status', status: 503, retryAfter: '3600', body: 'maintenance', contentType: 'text/plain' },
      FOR_EVER,
    );
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/maintenance.html'],
    });
    const held = await expectTimedOutOnTime(id);
    expect(held.error).toBe(
      'queue deadline passed (policy.queueDeadlineMs) before the CDN accepted the purge',
    );
  });

  it('ends the batch timed_out at its deadline when every poll gets 429 with a huge Retry-After', async () => {
    simulator.quantil.faults.inject(
      'status',
      { kind: 'status', status: 429, retryAfter: '999999999' },
      FOR_EVER,
    );
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/polled.html'],
    });
    const held = await expectTimedOutOnTime(id);
    expect(held.remoteId).toBeDefined();
    expect(held.error).toMatch(
      /^poll deadline passed \(policy\.poll\.deadlineMs, from the CDN accepting it\); last poll: .*HTTP 429/,
    );
  });

  /**
   * Until the jobs earlier tests left in QUANTIL's queue have ended: a pause is cut short at the earliest
   * deadline of the jobs in the queue, so one of theirs would bound it instead of this test's own batch.
   */
  async function untilQuantilQueueIsIdle(): Promise<void> {
    const queue = service.runtime.producer.queues.get(QUANTIL_RIG.cdnId);
    await vi.waitFor(
      async () =>
        expect(await queue?.getJobCounts('active', 'waiting', 'delayed', 'prioritized')).toEqual({
          active: 0,
          waiting: 0,
          delayed: 0,
          prioritized: 0,
        }),
      { timeout: DEADLINE_MS + 5_000, interval: 20 },
    );
  }

  it("ends an older batch timed_out at its own deadline while a newer batch's 429 pauses their CDN", async () => {
    await untilQuantilQueueIsIdle();
    const { id: older } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/older.html'],
      cdns: [QUANTIL_RIG.cdnId],
    });
    const olderStatus = await vi.waitFor(
      async () => {
        const status = await service.runtime.store.get(older);
        if (!status?.batches[0]?.polls) throw new Error('not polling yet');
        return status;
      },
      { timeout: 2_000, interval: 10 },
    );
    // The newer batch arrives well into the older one's life, so its deadline is far later.
    await vi.waitFor(
      () => expect(Date.now() - olderStatus.createdAt).toBeGreaterThanOrEqual(DEADLINE_MS / 2),
      {
        timeout: 2_000,
        interval: 10,
      },
    );
    simulator.quantil.faults.inject(
      'submit',
      { kind: 'status', status: 429, retryAfter: '999999999' },
      FOR_EVER,
    );
    const newer = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/newer.html'],
      cdns: [QUANTIL_RIG.cdnId],
    });
    const status = await service.waitForFinish(older, 5_000);
    const batch = status.batches[0] as BatchStatus;
    expect(batch.state).toBe('timed_out');
    await expectEndedBefore(batch, newer.id);
  });

  it("ends a batch that was mid-poll when another batch's 429 paused their CDN at its own deadline", async () => {
    await untilQuantilQueueIsIdle();
    const { id: polling } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/mid-poll.html'],
      cdns: [QUANTIL_RIG.cdnId],
    });
    const status = await vi.waitFor(
      async () => {
        const found = await service.runtime.store.get(polling);
        if (!found?.batches[0]?.polls) throw new Error('not polling yet');
        return found;
      },
      { timeout: 2_000, interval: 10 },
    );
    // Well into its life, so the pausing purge's deadline is far later than its own (and early enough that
    // the held poll is released before this batch's deadline: the pausing purge waits out its flush window).
    await vi.waitFor(() => expect(Date.now() - status.createdAt).toBeGreaterThanOrEqual(DEADLINE_MS * 0.4), {
      timeout: 2_000,
      interval: 10,
    });
    // Its next poll is held at the CDN: the job is running when the pause is decided.
    const held = simulator.quantil.holdNext('status');
    await held.arrived;
    const refusals = () => simulator.quantil.requests.filter((r) => r.op === 'submit').length;
    const before = refusals();
    simulator.quantil.faults.inject(
      'submit',
      { kind: 'status', status: 429, retryAfter: '999999999' },
      FOR_EVER,
    );
    const pauser = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/pauses-it.html'],
      cdns: [QUANTIL_RIG.cdnId],
    });
    await vi.waitFor(() => expect(refusals()).toBeGreaterThan(before), { timeout: 2_000, interval: 10 });
    held.release();
    const ended = await service.waitForFinish(polling, 5_000);
    const batch = ended.batches[0] as BatchStatus;
    expect(batch.state).toBe('timed_out');
    await expectEndedBefore(batch, pauser.id);
  });

  /**
   * Ended at or after its own deadline, and before that of the purge whose 429 paused the CDN: that one
   * arrived hundreds of ms into this batch's life, so a pause held until its deadline would end this batch
   * late by as much. (A fixed allowance past the deadline was missed by a loaded machine.)
   */
  async function expectEndedBefore(batch: BatchStatus, pauserId: string): Promise<void> {
    const pauser = await service.runtime.store.get(pauserId);
    const pauserDeadline = (pauser?.createdAt ?? 0) + DEADLINE_MS;
    expect(batch.finishedAt).toBeGreaterThanOrEqual(batch.deadlineAt ?? Number.POSITIVE_INFINITY);
    expect(batch.finishedAt).toBeLessThan(pauserDeadline);
  }
});
