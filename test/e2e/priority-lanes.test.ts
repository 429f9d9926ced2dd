import { afterEach, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { API_TOKEN, startTestApi } from '../harness/api.ts';
import { QUANTIL_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

const url = (name: string) => `https://www.example.com/lanes/${name}.html`;

/** Priority lanes end to end: a real service on real Redis against the QUANTIL simulator. */
describe('priority lanes', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function rig(entry: Record<string, unknown>, options: { workers?: boolean } = {}) {
    const simulator: Simulator = await startSimulator(QUANTIL_RIG.simulatorOptions({ taskDurationMs: 0 }));
    const service: TestService = startTestService(
      testConfigInput(simulator.url, {}, [{ ...QUANTIL_RIG.cdnEntry(simulator.url), ...entry }]),
      options,
    );
    cleanups.push(async () => {
      await service.close();
      await simulator.close();
    });
    const submits = () => simulator.quantil.requests.filter((r) => r.op === 'submit');
    const urlsOf = (index: number) =>
      simulator.quantil.purges
        .slice()
        .sort((a, b) => a.createdAt - b.createdAt)
        [index]?.items.map((item) => item.path) ?? [];
    return { simulator, service, submits, urlsOf };
  }

  it('sends an urgent purge at once, past the window, with what was waiting for it in the same call', async () => {
    // A window no test waits out: only the urgent purge can get these URLs sent.
    const { service, submits, urlsOf } = await rig({ coalesce: { windowMs: 60_000 } });
    const normal = await service.runtime.producer.enqueuePurge({ urls: [url('waiting')] });
    const urgent = await service.runtime.producer.enqueuePurge({
      urls: [url('takedown')],
      priority: 'urgent',
    });

    expect((await service.waitForFinish(urgent.id)).state).toBe('succeeded');
    expect((await service.waitForFinish(normal.id)).state).toBe('succeeded');
    expect(submits()).toHaveLength(1);
    expect(urlsOf(0)).toEqual([url('takedown'), url('waiting')]);
    const status = await service.runtime.store.get(urgent.id);
    expect(status?.priority).toBe('urgent');
    expect(status?.batches[0]?.lane).toBe('urgent');
  });

  it('puts urgent targets in the next call a rate limit allows, ahead of a bulk backlog', async () => {
    // Two items a call, one call per 2.5 s: ten bulk URLs are five calls, over ten seconds.
    const { simulator, service, urlsOf } = await rig({
      maxItemsPerCall: 2,
      rateLimit: { max: 1, durationMs: 2_500 },
      coalesce: { windowMs: 0, bulkWindowMs: 0 },
    });
    const held = simulator.quantil.holdNext('submit');
    const bulk = await service.runtime.producer.enqueuePurge({
      urls: Array.from({ length: 10 }, (_, i) => url(`bulk-${i}`)),
      priority: 'bulk',
    });
    // The first bulk call is at the CDN (its answer held): the rest of the backlog waits for the limit.
    await held.arrived;
    const urgent = await service.runtime.producer.enqueuePurge({ urls: [url('urgent')], priority: 'urgent' });
    held.release();

    expect((await service.waitForFinish(urgent.id)).state).toBe('succeeded');
    // The next call after the held one carries the urgent URL first, and fills up with the backlog.
    expect(urlsOf(1)).toEqual([url('urgent'), url('bulk-2')]);
    const bulkStatus = await service.runtime.store.get(bulk.id);
    expect(bulkStatus?.targets['quantil-main']?.pending).toBeGreaterThan(0);
  });

  it('moves a target waiting in the bulk lane up when an urgent purge asks for it, and sends it once', async () => {
    const { service, submits, urlsOf } = await rig({ coalesce: { windowMs: 60_000, bulkWindowMs: 60_000 } });
    const bulk = await service.runtime.producer.enqueuePurge({ urls: [url('shared')], priority: 'bulk' });
    const urgent = await service.runtime.producer.enqueuePurge({ urls: [url('shared')], priority: 'urgent' });

    expect((await service.waitForFinish(urgent.id)).state).toBe('succeeded');
    expect((await service.waitForFinish(bulk.id)).state).toBe('succeeded');
    expect(submits()).toHaveLength(1);
    expect(urlsOf(0)).toEqual([url('shared')]);
  });

  it('sheds bulk purges only, with 429 BACKLOG_FULL and a Retry-After, while the bulk backlog is full', async () => {
    const simulator = await startSimulator(QUANTIL_RIG.simulatorOptions({ taskDurationMs: 0 }));
    // No workers: the backlog stays as accepted.
    const api = await startTestApi(simulator.url, {
      cdns: [{ ...QUANTIL_RIG.cdnEntry(simulator.url), maxBulkBacklog: 3 }],
      routes: [{ hosts: ['www.example.com'], cdns: ['quantil-main'] }],
    });
    cleanups.push(async () => {
      await api.close();
      await simulator.close();
    });
    const send = (body: Record<string, unknown>) =>
      api.app.inject({
        method: 'POST',
        url: '/v1/purges',
        headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
        payload: body,
      });

    expect((await send({ urls: [url('b1'), url('b2'), url('b3')], priority: 'bulk' })).statusCode).toBe(202);
    const keysBefore = await api.keys();
    const shed = await send({ urls: [url('b4')], priority: 'bulk' });
    expect(shed.statusCode).toBe(429);
    expect(shed.headers['retry-after']).toBe('30');
    expect(shed.json()).toMatchObject({ error: 'BACKLOG_FULL' });
    expect(await api.keys()).toEqual(keysBefore);

    for (const priority of ['normal', 'urgent']) {
      expect((await send({ urls: [url(`kept-${priority}`)], priority })).statusCode).toBe(202);
    }
    expect(await api.service.runtime.store.pendingCount('quantil-main')).toBe(5);
    expect((await send({ urls: [url('b5')], priority: 'fast' })).statusCode).toBe(400);
  });

  it("takes a purge's lane from its routes when it names none, the most urgent route winning", async () => {
    const simulator = await startSimulator(QUANTIL_RIG.simulatorOptions({ taskDurationMs: 0 }));
    const input = testConfigInput(simulator.url, {}, [QUANTIL_RIG.cdnEntry(simulator.url)]);
    const service = startTestService(
      {
        ...input,
        routes: [
          { hosts: ['www.example.com'], cdns: ['quantil-main'], priority: 'bulk' },
          { hosts: ['breaking.example.com'], cdns: ['quantil-main'], priority: 'urgent' },
        ],
      },
      { workers: false },
    );
    cleanups.push(async () => {
      await service.close();
      await simulator.close();
    });
    const lane = async (urls: string[], priority?: 'normal') => {
      const { id } = await service.runtime.producer.enqueuePurge({ urls, ...(priority ? { priority } : {}) });
      return (await service.runtime.store.get(id))?.priority;
    };

    expect(await lane([url('a')])).toBe('bulk');
    expect(await lane([url('b'), 'https://breaking.example.com/now.html'])).toBe('urgent');
    expect(await lane([url('c')], 'normal')).toBe('normal');
  });
});
