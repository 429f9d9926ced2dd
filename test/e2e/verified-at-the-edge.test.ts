import { describe, expect, it, vi } from 'vitest';
import type { PurgeStatus } from '../../src/model/status.ts';
import type { Edge } from '../../src/simulator/edges/fleet.ts';
import { startSimulator } from '../../src/simulator/server.ts';
import { type Receiver, startReceiver } from '../harness/receiver.ts';
import { checksAt, open, page, rig, vimsBatch } from '../harness/verify-rig.ts';

describe('a purge verified at the edge', () => {
  it('is checked fresh on every edge the VIMS listing names, against the origin, and says so', async () => {
    const { service, edges, purge, warm, publish } = await rig();
    const url = page('fresh');
    await warm([url]);
    publish([url]);
    const since = Date.now();
    const id = await purge([url]);
    const status = await service.waitForFinish(id);

    expect(status.state).toBe('succeeded');
    expect(status).toMatchObject({ verified: true, verification: { 'vims-main': 'fresh' } });
    const batch = vimsBatch(status);
    expect(batch?.state).toBe('succeeded');
    expect(batch?.verification).toMatchObject({
      state: 'fresh',
      rounds: 1,
      repurges: 0,
      counts: { fresh: 3, stale: 0, unverified: 0 },
    });
    expect(batch?.verification?.edges).toEqual(
      edges.map((edge) => `127.0.0.1:${edge.port} (${edge.id}.localhost)`),
    );
    expect(batch?.verification?.secondsToFresh).toBeGreaterThanOrEqual(0);
    // Each edge was asked directly, for the URL the purge named, under its own host.
    for (const edge of edges)
      expect(checksAt(edge, since).map(({ host, target }) => ({ host, target }))).toEqual([
        { host: 'www.example.com', target: '/news/fresh.html' },
      ]);
  });

  it('re-purges a URL an edge missed the purge of, through the pending set, then verifies it fresh', async () => {
    const { sim, service, edges, purge, warm, publish } = await rig();
    const url = page('missed');
    await warm([url]);
    publish([url]);
    sim.edges.missNextPurge('vims-edge-2');
    const id = await purge([url]);
    const status = await service.waitForFinish(id);

    expect(status).toMatchObject({ state: 'succeeded', verified: true });
    const verification = vimsBatch(status)?.verification;
    expect(verification).toMatchObject({ state: 'fresh', rounds: 2, repurges: 1 });
    const [repurgeId] = verification?.repurgeIds ?? [];
    expect(repurgeId).toMatch(/^rp-/);
    // The re-purge is a purge of its own, of the stale URL only, naming the batch it repairs.
    const repurge = await service.runtime.store.get(repurgeId as string);
    expect(repurge).toMatchObject({
      state: 'succeeded',
      repurgeOf: vimsBatch(status)?.batchId,
      request: { urls: 1 },
    });
    // Its batch leaves the URL to the batch that sent it: no second verification, no re-purge of its own.
    expect(vimsBatch(repurge as PurgeStatus)?.verification).toMatchObject({ state: 'skipped' });
    expect(sim.vims.tasks).toHaveLength(2);
    const metrics = await service.runtime.metrics().render();
    expect(metrics).toContain('purge_worker_verify_repurges_total{cdn="vims-main"} 1');
    expect(metrics).toContain('purge_worker_verify_checks_total{cdn="vims-main",verdict="stale"} 1');
    expect(metrics).toContain('purge_worker_verifications_total{cdn="vims-main",outcome="fresh"} 1');
    expect(metrics).toMatch(/purge_worker_time_to_fresh_seconds_count\{cdn="vims-main"\} 1\n/);
    expect(
      edges.every((edge) => edge.cached().every((copy) => copy.etag === sim.edges.origin.current(url).etag)),
    ).toBe(true);
  });

  it('ends an edge that stays stale as `stale`, naming it, with the purge failed and its callback saying so', async () => {
    const receiver: Receiver = await startReceiver((_req, res) => res.writeHead(204).end());
    open.push(receiver);
    const { sim, service, edges, purge, warm, publish } = await rig({ maxRepurges: 1 });
    const url = page('stuck');
    await warm([url]);
    publish([url]);
    // It misses the purge and the re-purge.
    sim.edges.missNextPurge('vims-edge-3');
    sim.edges.missNextPurge('vims-edge-3');
    const id = await purge([url], { callbackUrl: `${receiver.url}/done` });
    const status = await service.waitForFinish(id);

    const stuck = edges.find((edge) => edge.id === 'vims-edge-3') as Edge;
    expect(status.state).toBe('failed');
    const batch = vimsBatch(status);
    expect(batch).toMatchObject({ state: 'stale', errorCode: 'STALE_AT_EDGE' });
    expect(batch?.error).toContain(`127.0.0.1:${stuck.port}`);
    expect(batch?.verification).toMatchObject({ state: 'stale', rounds: 2, repurges: 1 });
    expect(batch?.verification?.stale).toEqual([
      expect.objectContaining({
        url,
        edge: `127.0.0.1:${stuck.port} (vims-edge-3.localhost)`,
        verdict: 'stale',
      }),
    ]);
    expect(status).toMatchObject({ verified: false, verification: { 'vims-main': 'stale' } });

    await vi.waitFor(() => expect(receiver.received).toHaveLength(1), { timeout: 5_000, interval: 20 });
    const payload = JSON.parse(receiver.received[0]?.body ?? '{}');
    expect(payload).toMatchObject({
      id,
      state: 'failed',
      verified: false,
      verification: { 'vims-main': 'stale' },
      batches: [{ state: 'stale', errorCode: 'STALE_AT_EDGE' }],
    });
  });

  it('purges a second time after verify.repeatAfterMs, which a stale shield needs: then every edge is fresh', async () => {
    const { sim, service, edges, purge, warm, publish } = await rig({ repeatAfterMs: 1_000, maxRepurges: 0 });
    const url = page('shielded');
    await warm([url]);
    publish([url]);
    // Purges pass the shield by; it serves its old copy once more, to the first edge that refetches.
    sim.edges.staleShield(true);
    const id = await purge([url]);
    // A reader comes to an edge after the first purge: the edge refills from the shield, with the old copy.
    await vi.waitFor(
      async () => {
        const batch = vimsBatch((await service.runtime.store.get(id)) as PurgeStatus);
        expect(batch?.state).toBe('verifying');
      },
      { timeout: 5_000, interval: 10 },
    );
    await warm([url]);
    const refilled = (edges[0] as Edge).cached().find((copy) => copy.target === '/news/shielded.html');
    expect(refilled?.etag).not.toBe(sim.edges.origin.current(url).etag);

    const status = await service.waitForFinish(id);
    expect(status).toMatchObject({ state: 'succeeded', verified: true });
    const verification = vimsBatch(status)?.verification;
    expect(verification).toMatchObject({
      state: 'fresh',
      repurges: 0,
      counts: { fresh: 3, stale: 0, unverified: 0 },
    });
    const [repeatId] = verification?.repurgeIds ?? [];
    expect(await service.runtime.store.get(repeatId as string)).toMatchObject({
      state: 'succeeded',
      request: { urls: 1 },
    });
    expect(sim.vims.tasks).toHaveLength(2);
  });

  it('reports an edge that does not answer as unverified, never as fresh', async () => {
    // Accepts the connection and never answers: the check's own timeout ends it.
    const silent = await startReceiver(() => {});
    open.push(silent);
    const sim = await startSimulator({ edges: { vims: 1, quantil: 0 } });
    open.push(sim);
    const [edge] = sim.edges.vims.edges as [Edge];
    const { service, purge } = await rig({
      edges: [
        { address: '127.0.0.1', port: edge.port, name: 'answers' },
        { address: '127.0.0.1', port: silent.port, name: 'silent' },
      ],
      origin: undefined,
      timeoutMs: 200,
    });
    const id = await purge([page('silent')]);
    const status = await service.waitForFinish(id);

    expect(status).toMatchObject({
      state: 'succeeded',
      verified: false,
      verification: { 'vims-main': 'unverified' },
    });
    const verification = vimsBatch(status)?.verification;
    expect(verification).toMatchObject({
      state: 'unverified',
      counts: { fresh: 1, stale: 0, unverified: 1 },
    });
    expect(verification?.unverified).toEqual([
      expect.objectContaining({ edge: `127.0.0.1:${silent.port} (silent)`, verdict: 'unverified' }),
    ]);
    expect(silent.received).toHaveLength(1);
  });

  it('asks each edge for a sample of the batch of exactly `verify.sample` URLs, all of them the purge named', async () => {
    const { service, edges, purge } = await rig({ sample: 4 });
    const urls = Array.from({ length: 12 }, (_, index) => page(`sampled-${index}`));
    const since = Date.now();
    const id = await purge(urls);
    const status = await service.waitForFinish(id);

    expect(vimsBatch(status)?.verification?.counts).toEqual({ fresh: 12, stale: 0, unverified: 0 });
    const named = new Set(urls.map((url) => new URL(url).pathname));
    const asked = checksAt(edges[0] as Edge, since).map((entry) => entry.target);
    expect(asked).toHaveLength(4);
    expect(new Set(asked).size).toBe(4);
    for (const target of asked) expect(named.has(target)).toBe(true);
    // Every edge was asked the same sample.
    for (const edge of edges)
      expect(
        checksAt(edge, since)
          .map((entry) => entry.target)
          .sort(),
      ).toEqual([...asked].sort());
  });

  it('asks every URL of an urgent batch', async () => {
    const { service, edges } = await rig({ sample: 2 });
    const urls = Array.from({ length: 6 }, (_, index) => page(`urgent-${index}`));
    const since = Date.now();
    const { id } = await service.runtime.producer.enqueuePurge({ urls, priority: 'urgent' });
    const status = await service.waitForFinish(id);

    expect(vimsBatch(status)?.verification?.counts?.fresh).toBe(6 * edges.length);
    expect(checksAt(edges[0] as Edge, since)).toHaveLength(6);
  });

  it('contacts no edge the address rules refuse: a loopback edge without verify.allowHosts is never asked', async () => {
    const { service, edges, purge } = await rig({ allowHosts: [], origin: undefined });
    const since = Date.now();
    const id = await purge([page('refused')]);
    const status = await service.waitForFinish(id);

    const verification = vimsBatch(status)?.verification;
    expect(verification).toMatchObject({
      state: 'unverified',
      counts: { fresh: 0, stale: 0, unverified: 3 },
    });
    for (const check of verification?.unverified ?? []) expect(check.reason).toMatch(/loopback/);
    for (const edge of edges) expect(checksAt(edge, since)).toEqual([]);
  });
});
