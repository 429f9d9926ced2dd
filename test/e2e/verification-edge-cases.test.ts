import { Queue } from 'bullmq';
import { describe, expect, it, vi } from 'vitest';
import type { PurgeStatus } from '../../src/model/status.ts';
import { queueName } from '../../src/queue/names.ts';
import { replayPurge } from '../../src/queue/replay.ts';
import { page, rig, vimsBatch } from '../harness/verify-rig.ts';

describe('verification, at its edges', () => {
  it("checks in a batch shared with a re-purge only the other purge's URL; the re-purged one is its sender's", async () => {
    // A window long enough for a purge sent while the re-purge waits to share its call.
    const { sim, service, purge, warm, publish } = await rig({}, {}, { coalesce: { windowMs: 1_000 } });
    const missed = page('shared-missed');
    const other = page('shared-other');
    await warm([missed]);
    publish([missed]);
    sim.edges.missNextPurge('vims-edge-1');
    const first = await purge([missed]);
    await vi.waitFor(
      async () =>
        expect(vimsBatch((await service.runtime.store.get(first)) as PurgeStatus)?.verification?.state).toBe(
          'repurging',
        ),
      { timeout: 10_000, interval: 10 },
    );
    const second = await purge([other]);
    const [firstStatus, secondStatus] = [
      await service.waitForFinish(first),
      await service.waitForFinish(second),
    ];

    expect(firstStatus).toMatchObject({ state: 'succeeded', verified: true });
    expect(vimsBatch(firstStatus)?.verification).toMatchObject({ state: 'fresh', repurges: 1 });
    const shared = vimsBatch(secondStatus);
    const repurgeId = vimsBatch(firstStatus)?.verification?.repurgeIds?.[0] as string;
    expect(vimsBatch((await service.runtime.store.get(repurgeId)) as PurgeStatus)?.batchId).toBe(
      shared?.batchId,
    );
    // The shared call carried both; its own check asked only the other purge's URL, on each edge.
    expect(shared).toMatchObject({
      purges: 2,
      items: 2,
      verification: { state: 'fresh', counts: { fresh: 3 } },
    });
  });

  it('a stale batch can be replayed, as a failed one can', async () => {
    const { sim, service, purge, warm, publish } = await rig({ maxRepurges: 0 });
    const url = page('replayed');
    await warm([url]);
    publish([url]);
    sim.edges.missNextPurge('vims-edge-2');
    const id = await purge([url]);
    const status = await service.waitForFinish(id);
    expect(vimsBatch(status)?.state).toBe('stale');

    const replay = await replayPurge(id, {}, service.runtime);
    expect(replay).toMatchObject({ replayOf: id, duplicate: false, cdns: ['vims-main'] });
    expect((await service.runtime.store.getPlan(replay.id))?.targets['vims-main']?.urls).toEqual([url]);
  });

  it('ends a verifying batch whose job is gone succeeded (the CDN did it), its verification unverified, by the reconciler', async () => {
    const { service, purge } = await rig({ delayMs: 60_000 }, { reconcile: { intervalMs: 200 } });
    const id = await purge([page('orphaned')]);
    await vi.waitFor(
      async () =>
        expect(vimsBatch((await service.runtime.store.get(id)) as PurgeStatus)?.state).toBe('verifying'),
      { timeout: 10_000, interval: 10 },
    );
    const batchId = vimsBatch((await service.runtime.store.get(id)) as PurgeStatus)?.batchId ?? '';
    // The job vanishes (as a crash at the wrong moment, or a hand on the dashboard, could make it).
    const queue = new Queue(queueName('vims-main'), {
      connection: service.redis,
      prefix: service.config.redis.prefix,
    });
    await queue.remove(batchId.slice('vims-main-'.length));
    await queue.close();

    const status = await service.waitForFinish(id);
    expect(status).toMatchObject({
      state: 'succeeded',
      verified: false,
      verification: { 'vims-main': 'unverified' },
    });
    expect(vimsBatch(status)?.verification?.note).toMatch(/ended by the reconciler/);
  });
});
