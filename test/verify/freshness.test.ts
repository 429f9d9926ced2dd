import { Agent, request } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type EdgeAnswer, judgeFreshness, ownCacheStatus } from '../../src/verify/freshness.ts';
import { closeAll, setup } from '../simulator/quantil-harness.ts';

const ACCEPTED = 1_000_000;
const answer = (headers: Record<string, string>, status = 200): EdgeAnswer => ({ status, headers });
const judge = (a: EdgeAnswer, secondsLater = 30, origin?: { etag?: string; lastModified?: string }) =>
  judgeFreshness({
    answer: a,
    acceptedAt: ACCEPTED,
    checkedAt: ACCEPTED + secondsLater * 1000,
    ...(origin ? { origin } : {}),
  }).verdict;

describe("judging an edge's answer", () => {
  it('is fresh when its Age is no older than the purge, stale when older', () => {
    expect(judge(answer({ age: '30' }))).toBe('fresh');
    expect(judge(answer({ age: '0' }))).toBe('fresh');
    expect(judge(answer({ age: '31' }))).toBe('stale');
  });

  it("trusts the origin's validators over everything else: the old ETag is stale even on a miss with Age 0", () => {
    const origin = { etag: '"abc-v2"' };
    expect(judge(answer({ etag: '"abc-v1"', age: '0', 'x-cache': 'MISS' }), 30, origin)).toBe('stale');
    expect(judge(answer({ etag: 'W/"abc-v2"', age: '9999' }), 30, origin)).toBe('fresh');
    const byDate = { lastModified: 'Wed, 02 Dec 2026 01:00:00 GMT' };
    expect(judge(answer({ 'last-modified': 'Wed, 02 Dec 2026 00:59:59 GMT' }), 30, byDate)).toBe('stale');
    expect(judge(answer({ 'last-modified': 'Wed, 02 Dec 2026 01:00:00 GMT' }), 30, byDate)).toBe('fresh');
  });

  it('without Age, takes a miss the edge itself reports as fresh, and a hit as undecided', () => {
    expect(judge(answer({ 'cache-status': 'shield; hit, edge-1; fwd=miss; stored' }))).toBe('fresh');
    expect(judge(answer({ 'cache-status': 'shield; fwd=miss, edge-1; hit' }))).toBe('unverified');
    expect(judge(answer({ 'x-cache': 'MISS from edge-1' }))).toBe('fresh');
    expect(judge(answer({ 'x-cache': 'HIT' }))).toBe('unverified');
    expect(judge(answer({}))).toBe('unverified');
  });

  it('never calls fresh what it cannot decide: no answer, a 5xx, a 404, an Age that is not delta-seconds', () => {
    expect(judge({ error: 'connect ETIMEDOUT' })).toBe('unverified');
    expect(judge(answer({ age: '0' }, 503))).toBe('unverified');
    expect(judge(answer({ age: '0' }, 404))).toBe('unverified');
    expect(judge(answer({ age: '-1' }))).toBe('unverified');
    expect(judge(answer({ age: '1e3', 'x-cache': 'HIT' }))).toBe('unverified');
  });

  it('reads only the last Cache-Status member (the edge asked), and no list it cannot parse', () => {
    expect(ownCacheStatus('a; hit, b; fwd=uri-miss')).toBe('miss');
    expect(ownCacheStatus('a; fwd=miss, b; hit')).toBe('hit');
    expect(ownCacheStatus('a; fwd=bypass')).toBeUndefined();
    expect(ownCacheStatus('(((')).toBeUndefined();
    expect(ownCacheStatus(`${'a, '.repeat(5_000)}b; hit`)).toBeUndefined();
  });
});

/** The same judgement of real answers: the simulator's loopback edges after a real VIMS purge. */
describe("judging the simulator's edges after a purge", () => {
  const VIMS_TOKEN = 'sk_live_verify_test';
  const PAGE = 'http://www.example.com/news/today.html';
  const agent = new Agent();
  afterEach(closeAll);
  afterAll(() => agent.close());

  async function rig(edges: number) {
    const { sim, clock } = await setup(
      {},
      { vims: { tokens: [VIMS_TOKEN], taskDurationMs: 1000 }, edges: { count: edges } },
    );
    const ask = async (edgeId: string): Promise<EdgeAnswer> => {
      const { host, pathname } = new URL(PAGE);
      const res = await request(`${sim.edges.edge(edgeId).url}${pathname}`, {
        method: 'HEAD',
        headers: { host },
        dispatcher: agent,
      });
      await res.body.text();
      return { status: res.statusCode, headers: res.headers as Record<string, string> };
    };
    const purge = async () => {
      const res = await request(`${sim.url}/api/services/cdn/101/purge`, {
        method: 'POST',
        headers: { authorization: VIMS_TOKEN, 'content-type': 'application/json' },
        body: JSON.stringify({ target: 'all', pattern: '*' }),
        dispatcher: agent,
      });
      await res.body.text();
      return clock.now;
    };
    return { sim, clock, ask, purge };
  }

  it('finds every edge fresh after a purge reached them all, and the one that missed it stale', async () => {
    const { sim, clock, ask, purge } = await rig(3);
    const edges = ['vims-edge-1', 'vims-edge-2', 'vims-edge-3'];
    for (const id of edges) await ask(id);
    clock.now += 10_000;
    sim.edges.origin.publish(PAGE);
    sim.edges.missNextPurge('vims-edge-2');
    const acceptedAt = await purge();
    clock.now += 1_000;

    const verdicts = [];
    for (const id of edges) {
      verdicts.push(judgeFreshness({ answer: await ask(id), acceptedAt, checkedAt: clock.now }).verdict);
    }
    expect(verdicts).toEqual(['fresh', 'stale', 'fresh']);
  });

  it("catches a stale shield's re-fill by the origin's ETag, though the edge reports a miss", async () => {
    const { sim, clock, ask, purge } = await rig(1);
    await ask('vims-edge-1');
    clock.now += 60_000;
    const current = sim.edges.origin.publish(PAGE);
    sim.edges.staleShield(true, { sendsAge: false });
    const acceptedAt = await purge();
    clock.now += 1_000;

    const refilled = await ask('vims-edge-1');
    expect(judgeFreshness({ answer: refilled, acceptedAt, checkedAt: clock.now }).verdict).toBe('fresh');
    const origin = { etag: current.etag };
    expect(judgeFreshness({ answer: refilled, acceptedAt, checkedAt: clock.now, origin }).verdict).toBe(
      'stale',
    );
  });
});
