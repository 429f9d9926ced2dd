import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { EdgesOptions } from '../../src/simulator/edges/edges.ts';
import type { Edge } from '../../src/simulator/edges/fleet.ts';
import { createPurgeLedger, type PurgeProgress } from '../../src/simulator/edges/purges.ts';
import type { VimsOptions } from '../../src/simulator/vims.ts';
import { closeAll, setup, T0 } from './quantil-harness.ts';

const VIMS_TOKEN = 'sk_live_edges_test';
const PAGE = 'http://www.example.com/news/today.html';
const agent = new Agent();

afterEach(closeAll);
afterAll(() => agent.close());

/** The member a cache appended last (RFC 9211 lists them from the origin's side). */
function ownMember(cacheStatus: string): string {
  return cacheStatus.split(',').at(-1)?.trim() ?? '';
}

async function start(edges: EdgesOptions = { count: 2 }, vims: VimsOptions = {}) {
  const rig = await setup({}, { vims: { tokens: [VIMS_TOKEN], taskDurationMs: 1000, ...vims }, edges });
  const { sim, clock } = rig;

  /** Asks an edge for a URL the way a check would: connect to the edge, the URL's host in `Host`. */
  async function ask(edgeId: string, url: string, method: 'GET' | 'HEAD' = 'GET') {
    const edge: Edge = sim.edges.edge(edgeId);
    const { host, pathname, search } = new URL(url);
    const res = await request(`${edge.url}${pathname}${search}`, {
      method,
      headers: { host },
      dispatcher: agent,
    });
    const body = await res.body.text();
    const header = (name: string) => String(res.headers[name] ?? '');
    return {
      status: res.statusCode,
      body,
      age: Number(header('age')),
      cacheStatus: header('cache-status'),
      own: ownMember(header('cache-status')),
      xCache: header('x-cache'),
      etag: header('etag'),
      lastModified: header('last-modified'),
      contentLength: header('content-length'),
      contentType: header('content-type'),
    };
  }

  async function vimsPurge(body: Record<string, unknown>): Promise<number> {
    const res = await request(`${sim.url}/api/services/cdn/101/purge`, {
      method: 'POST',
      headers: { authorization: VIMS_TOKEN, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      dispatcher: agent,
    });
    const json = (await res.body.json()) as { task_id?: number };
    expect(res.statusCode).toBe(200);
    return json.task_id ?? -1;
  }

  const advance = (ms: number) => {
    clock.now += ms;
  };
  return { ...rig, ask, vimsPurge, advance };
}

describe('simulated edges cache any URL', () => {
  it('misses first, then hits with an Age that grows on the clock, saying so in Cache-Status and X-Cache', async () => {
    const { sim, ask, advance } = await start();
    const origin = sim.edges.origin.current(PAGE);

    const first = await ask('vims-edge-1', PAGE);
    expect(first).toMatchObject({
      status: 200,
      age: 0,
      xCache: 'MISS',
      etag: origin.etag,
      body: origin.body,
    });
    expect(first.cacheStatus).toBe('vims-shield; fwd=miss; stored, vims-edge-1; fwd=miss; stored');
    expect(first.lastModified).toBe(new Date(origin.lastModified).toUTCString());

    advance(5_000);
    const second = await ask('vims-edge-1', PAGE);
    expect(second).toMatchObject({ age: 5, xCache: 'HIT', own: 'vims-edge-1; hit', etag: origin.etag });
    advance(60_500);
    expect(await ask('vims-edge-1', PAGE)).toMatchObject({ age: 65, xCache: 'HIT' });

    const log = sim.edges.edge('vims-edge-1').requests;
    expect(log.map((r) => [r.method, r.host, r.target, r.cache, r.source, r.age])).toEqual([
      ['GET', 'www.example.com', '/news/today.html', 'miss', 'origin', 0],
      ['GET', 'www.example.com', '/news/today.html', 'hit', 'cache', 5],
      ['GET', 'www.example.com', '/news/today.html', 'hit', 'cache', 65],
    ]);
    // Each edge is a cache of its own: the second one has not seen the URL yet.
    expect((await ask('vims-edge-2', PAGE)).xCache).toBe('MISS');
  });

  it('answers HEAD with the headers of GET and no body, a HEAD miss filling the cache', async () => {
    const { ask, advance } = await start();
    const head = await ask('vims-edge-1', PAGE, 'HEAD');
    expect(head).toMatchObject({ status: 200, xCache: 'MISS', age: 0, body: '' });
    advance(3_000);
    const get = await ask('vims-edge-1', PAGE);
    expect(get).toMatchObject({ xCache: 'HIT', age: 3, etag: head.etag });
    expect(head.contentLength).toBe(String(Buffer.byteLength(get.body)));
    expect((await ask('vims-edge-1', PAGE, 'HEAD')).own).toBe('vims-edge-1; hit');
  });

  it('caches URLs of any host nobody published, keyed by Host, path and query', async () => {
    const { sim, ask } = await start();
    const urls = [
      'http://nowhere.invalid/x?a=1',
      'http://nowhere.invalid/x?a=2',
      'http://elsewhere.test/x?a=1',
    ];
    for (const url of urls) {
      const res = await ask('quantil-edge-1', url);
      expect(res).toMatchObject({ status: 200, xCache: 'MISS', etag: sim.edges.origin.current(url).etag });
      expect(res.body).toBe(`${new URL(url).host}${new URL(url).pathname}${new URL(url).search} version 1\n`);
    }
    expect(new Set(urls.map((url) => sim.edges.origin.current(url).etag)).size).toBe(3);
    for (const url of urls) expect((await ask('quantil-edge-1', url)).xCache).toBe('HIT');
    expect(sim.edges.edge('quantil-edge-1').cached()).toHaveLength(3);
  });

  it('refuses methods other than GET and HEAD with a 405 naming the allowed ones, and logs the refusal', async () => {
    const { sim } = await start();
    const edge = sim.edges.edge('vims-edge-1');
    const res = await request(`${edge.url}/x`, {
      method: 'POST',
      headers: { host: 'www.example.com' },
      body: 'x',
      dispatcher: agent,
    });
    expect([res.statusCode, res.headers.allow, await res.body.json()]).toEqual([
      405,
      'GET, HEAD',
      { error: 'method POST not allowed' },
    ]);
    expect(edge.requests.map((r) => [r.method, r.status, r.cache])).toEqual([['POST', 405, 'none']]);
    expect(edge.cached()).toEqual([]);
  });
});

describe('purges reach the edges through the CDN simulators', () => {
  it('a VIMS purge through its API turns the next request into a miss with the new version, once the task is done', async () => {
    const { sim, ask, advance, vimsPurge } = await start();
    const other = 'http://www.example.com/about.html';
    for (const id of ['vims-edge-1', 'vims-edge-2']) {
      await ask(id, PAGE);
      await ask(id, other);
    }
    advance(30_000);
    const otherV1 = sim.edges.origin.current(other);
    const published = sim.edges.origin.publish(PAGE);
    sim.edges.origin.publish(other);
    expect(published.version).toBe(2);
    await vimsPurge({ target: 'all', pattern: '^\\/news\\/today\\.html$' });

    // Accepted but still running: the edges serve what they had.
    expect(await ask('vims-edge-1', PAGE)).toMatchObject({ xCache: 'HIT', age: 30 });
    advance(1_000);
    // The first refetch goes through to the origin; the second finds the shield refilled with the new copy.
    const shieldMembers = ['vims-shield; fwd=miss; stored', 'vims-shield; hit'];
    for (const [i, id] of ['vims-edge-1', 'vims-edge-2'].entries()) {
      const fresh = await ask(id, PAGE);
      expect(fresh).toMatchObject({ xCache: 'MISS', age: 0, etag: published.etag, body: published.body });
      expect(fresh.cacheStatus).toBe(`${shieldMembers[i]}, ${id}; fwd=miss; stored`);
      expect(fresh.lastModified).toBe(new Date(T0 + 30_000).toUTCString());
      // Outside the pattern: still the old copy, as a purge of one URL must leave the rest alone.
      expect(await ask(id, other)).toMatchObject({ xCache: 'HIT', etag: otherV1.etag });
    }
    expect(sim.edges.vims.purgeEvents.map((e) => [e.purgeId, e.cache, e.outcome, e.objects])).toEqual([
      ['vims:5001', 'vims-shield', 'dropped', 1],
      ['vims:5001', 'vims-edge-1', 'dropped', 1],
      ['vims:5001', 'vims-edge-2', 'dropped', 1],
    ]);
  });

  it('reaches edge j of K as the task passes (j+1)/K, every edge by its success', async () => {
    const { sim, ask, advance, vimsPurge } = await start({ count: 2 });
    for (const id of ['vims-edge-1', 'vims-edge-2']) await ask(id, PAGE);
    const v2 = sim.edges.origin.publish(PAGE);
    await vimsPurge({ target: 'all', pattern: '*' });
    advance(499);
    expect(sim.vims.task(5001)).toMatchObject({ state: 'STARTED', percentage: 49 });
    expect((await ask('vims-edge-1', PAGE)).xCache).toBe('HIT');
    advance(1);
    expect(await ask('vims-edge-1', PAGE)).toMatchObject({ xCache: 'MISS', etag: v2.etag });
    expect((await ask('vims-edge-2', PAGE)).etag).not.toBe(v2.etag);
    advance(500);
    expect(await ask('vims-edge-2', PAGE)).toMatchObject({ xCache: 'MISS', etag: v2.etag });
  });

  it('a VIMS purge aimed at one CDN_HOST reaches only the edge listed under that vm id', async () => {
    const { sim, ask, advance, vimsPurge } = await start();
    const listing = await request(`${sim.url}/api/services/cdn/`, {
      headers: { authorization: VIMS_TOKEN },
      dispatcher: agent,
    });
    const json = (await listing.body.json()) as {
      data: Array<{
        sub_services: Array<{ type: { name: string }; vm: { id: number; networking: unknown[] } }>;
      }>;
    };
    const hosts = json.data[0]?.sub_services ?? [];
    expect(hosts.map((h) => [h.type.name, h.vm.id, h.vm.networking])).toEqual([
      ['CDN_HOST', 201, [{ id: 20_201, ip: '127.0.0.1', port: sim.edges.edge('vims-edge-1').port }]],
      ['CDN_HOST', 202, [{ id: 20_202, ip: '127.0.0.1', port: sim.edges.edge('vims-edge-2').port }]],
    ]);

    for (const id of ['vims-edge-1', 'vims-edge-2']) await ask(id, PAGE);
    const v2 = sim.edges.origin.publish(PAGE);
    await vimsPurge({ target: '202', pattern: 'today' });
    advance(1_000);
    expect((await ask('vims-edge-1', PAGE)).xCache).toBe('HIT');
    expect(await ask('vims-edge-2', PAGE)).toMatchObject({ xCache: 'MISS', etag: v2.etag });
  });

  it('a failed VIMS task leaves the edges it had not reached with their old copies', async () => {
    const { sim, ask, advance, vimsPurge } = await start({ count: 2 }, { outcome: () => 'FAILURE' });
    for (const id of ['vims-edge-1', 'vims-edge-2']) await ask(id, PAGE);
    sim.edges.origin.publish(PAGE);
    await vimsPurge({ target: 'all', pattern: '*' });
    advance(5_000);
    expect(sim.vims.task(5001)?.state).toBe('FAILURE');
    for (const id of ['vims-edge-1', 'vims-edge-2']) {
      expect(await ask(id, PAGE)).toMatchObject({
        xCache: 'HIT',
        age: 5,
        etag: expect.stringMatching(/-v1"$/),
      });
    }
  });

  it('QUANTIL file-url and dir-url purges drop that file and everything under the dir, on its own edges only', async () => {
    const { sim, ask, advance, submit } = await start({ count: 1 });
    const file = 'http://cdn.example.com/1.txt';
    const inDir = 'http://cdn.example.com/mydir/a/b.css?v=3';
    const outside = 'http://cdn.example.com/other.txt';
    for (const url of [file, inDir, outside]) await ask('quantil-edge-1', url);
    await ask('vims-edge-1', file);
    const published = new Map([file, inDir, outside].map((url) => [url, sim.edges.origin.publish(url)]));
    expect((await submit([file], ['http://cdn.example.com/mydir/'])).status).toBe(202);
    expect((await ask('quantil-edge-1', file)).xCache).toBe('HIT');
    advance(1_000);
    for (const url of [file, inDir]) {
      expect(await ask('quantil-edge-1', url)).toMatchObject({
        xCache: 'MISS',
        etag: published.get(url)?.etag,
        own: 'quantil-edge-1; fwd=miss; stored',
      });
    }
    expect(await ask('quantil-edge-1', outside)).toMatchObject({
      xCache: 'HIT',
      etag: expect.stringMatching(/-v1"$/),
    });
    // VIMS's edges are another CDN's caches: a QUANTIL purge leaves them alone.
    expect((await ask('vims-edge-1', file)).xCache).toBe('HIT');
    expect(sim.edges.vims.purgeEvents).toEqual([]);
  });

  it('a QUANTIL purge that fails for one item still reaches the edges for the other', async () => {
    const { sim, ask, advance, submit } = await start({ count: 1 });
    const good = 'http://cdn.example.com/good.txt';
    const bad = 'http://cdn.example.com/bad.txt';
    for (const url of [good, bad]) await ask('quantil-edge-1', url);
    for (const url of [good, bad]) sim.edges.origin.publish(url);
    const res = await submit([good, bad]);
    const [purge] = sim.quantil.purges;
    sim.quantil.setItemStatus(purge?.id ?? '', bad, 'failure');
    expect(res.status).toBe(202);
    advance(1_000);
    expect((await ask('quantil-edge-1', good)).xCache).toBe('MISS');
    expect((await ask('quantil-edge-1', bad)).xCache).toBe('HIT');
  });
});

describe('edge faults a verification must catch', () => {
  it('missNextPurge leaves that edge with its old copy while the others refetch; the purge after reaches it', async () => {
    const { sim, ask, advance, vimsPurge } = await start({ count: 3 });
    const edges = ['vims-edge-1', 'vims-edge-2', 'vims-edge-3'];
    for (const id of edges) await ask(id, PAGE);
    advance(10_000);
    const v2 = sim.edges.origin.publish(PAGE);
    sim.edges.missNextPurge('vims-edge-2');
    await vimsPurge({ target: 'all', pattern: '*' });
    advance(1_000);
    expect(sim.vims.task(5001)?.state).toBe('SUCCESS');
    expect(await ask('vims-edge-1', PAGE)).toMatchObject({ xCache: 'MISS', etag: v2.etag, age: 0 });
    expect(await ask('vims-edge-3', PAGE)).toMatchObject({ xCache: 'MISS', etag: v2.etag, age: 0 });
    const stale = await ask('vims-edge-2', PAGE);
    expect(stale).toMatchObject({ xCache: 'HIT', age: 11, own: 'vims-edge-2; hit' });
    expect(stale.etag).not.toBe(v2.etag);
    expect(sim.edges.vims.purgeEvents.find((e) => e.cache === 'vims-edge-2')).toMatchObject({
      purgeId: 'vims:5001',
      outcome: 'missed',
    });

    await vimsPurge({ target: 'all', pattern: '*' });
    advance(1_000);
    expect(await ask('vims-edge-2', PAGE)).toMatchObject({ xCache: 'MISS', etag: v2.etag });
  });

  it('a stale shield re-fills the first edge to refetch with the old version once, the next from the origin', async () => {
    const { sim, ask, advance, vimsPurge } = await start({ count: 2 });
    await ask('vims-edge-1', PAGE);
    advance(10_000);
    // The second edge fills from the shield: its Age counts the shield's 10 s (RFC 9111 §4.2.3).
    expect(await ask('vims-edge-2', PAGE)).toMatchObject({
      age: 10,
      cacheStatus: 'vims-shield; hit, vims-edge-2; fwd=miss; stored',
    });
    advance(50_000);
    const v1 = sim.edges.origin.current(PAGE);
    const v2 = sim.edges.origin.publish(PAGE);
    sim.edges.staleShield(true);
    await vimsPurge({ target: 'all', pattern: '*' });
    advance(1_000);

    const refilled = await ask('vims-edge-1', PAGE);
    // A miss by every header an edge sends of itself, and yet the old object: only its ETag tells.
    expect(refilled).toMatchObject({ xCache: 'MISS', own: 'vims-edge-1; fwd=miss; stored', etag: v1.etag });
    expect(refilled.cacheStatus).toBe('vims-shield; hit, vims-edge-1; fwd=miss; stored');
    expect(refilled.age).toBe(61);
    expect(await ask('vims-edge-2', PAGE)).toMatchObject({
      xCache: 'MISS',
      etag: v2.etag,
      age: 0,
      cacheStatus: 'vims-shield; fwd=miss; stored, vims-edge-2; fwd=miss; stored',
    });
    // The stale copy stays on the edge it re-filled until the next purge.
    expect(await ask('vims-edge-1', PAGE)).toMatchObject({ xCache: 'HIT', etag: v1.etag });
    expect(sim.edges.vims.shieldCached().map((o) => o.version)).toEqual([2]);
  });

  it('a stale shield that sends no Age makes the old copy look brand new', async () => {
    const { sim, ask, advance, submit } = await start({ count: 1 });
    const url = 'http://cdn.example.com/1.txt';
    await ask('quantil-edge-1', url);
    advance(60_000);
    const v1 = sim.edges.origin.current(url);
    sim.edges.origin.publish(url);
    sim.edges.quantil.staleShield(true, { sendsAge: false });
    await submit([url]);
    advance(1_000);
    expect(await ask('quantil-edge-1', url)).toMatchObject({ xCache: 'MISS', age: 0, etag: v1.etag });
  });

  it('turning the stale shield off drops the copies it kept, so refetches reach the origin', async () => {
    const { sim, ask, advance, vimsPurge } = await start({ count: 1 });
    await ask('vims-edge-1', PAGE);
    const v2 = sim.edges.origin.publish(PAGE);
    sim.edges.staleShield(true);
    await vimsPurge({ target: 'all', pattern: '*' });
    advance(1_000);
    expect(sim.edges.vims.shieldCached()).toHaveLength(1);
    sim.edges.staleShield(false);
    expect(sim.edges.vims.shieldCached()).toEqual([]);
    expect(await ask('vims-edge-1', PAGE)).toMatchObject({ xCache: 'MISS', etag: v2.etag });
  });
});

describe('the origin and the bounds', () => {
  it('serves the origin on its own port: GET and HEAD the current version, PUT publishes a new one', async () => {
    const { sim, ask, advance, submit } = await start({ count: 1 });
    const originUrl = sim.edges.origin.url ?? '';
    expect(originUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const url = 'http://www.example.com/news/today.html';
    await ask('quantil-edge-1', url);
    advance(2_000);
    const put = await request(`${originUrl}/news/today.html`, {
      method: 'PUT',
      headers: { host: 'www.example.com', 'content-type': 'text/html' },
      body: '<h1>today, again</h1>',
      dispatcher: agent,
    });
    expect([put.statusCode, await put.body.json()]).toEqual([
      200,
      {
        version: 2,
        etag: sim.edges.origin.current(url).etag,
        lastModified: new Date(T0 + 2_000).toUTCString(),
      },
    ]);
    const get = await request(`${originUrl}/news/today.html`, {
      headers: { host: 'www.example.com' },
      dispatcher: agent,
    });
    expect([get.headers.etag, get.headers['content-type'], await get.body.text()]).toEqual([
      sim.edges.origin.current(url).etag,
      'text/html',
      '<h1>today, again</h1>',
    ]);
    const head = await request(`${originUrl}/news/today.html`, {
      method: 'HEAD',
      headers: { host: 'www.example.com' },
      dispatcher: agent,
    });
    expect([head.statusCode, head.headers.etag, await head.body.text()]).toEqual([200, get.headers.etag, '']);

    expect((await ask('quantil-edge-1', url)).body).toMatch(/version 1/);
    await submit([url]);
    advance(1_000);
    expect(await ask('quantil-edge-1', url)).toMatchObject({
      xCache: 'MISS',
      body: '<h1>today, again</h1>',
      contentType: 'text/html',
    });

    const tooBig = await request(`${originUrl}/big`, {
      method: 'PUT',
      headers: { host: 'www.example.com' },
      body: 'x'.repeat(70_000),
      dispatcher: agent,
    });
    expect(tooBig.statusCode).toBe(413);
    await tooBig.body.dump();
    const deleted = await request(`${originUrl}/x`, { method: 'DELETE', dispatcher: agent });
    expect([deleted.statusCode, deleted.headers.allow]).toEqual([405, 'GET, HEAD, PUT']);
    await deleted.body.dump();
  });

  it('keeps at most maxObjectsPerEdge objects per edge and its shield, evicting the least recently used', async () => {
    const { sim, ask } = await start({ count: 1, maxObjectsPerEdge: 3, maxLogEntries: 5 });
    const urls = Array.from({ length: 8 }, (_, i) => `http://many.example.com/${i}`);
    for (const url of urls) await ask('vims-edge-1', url);
    // /5 used again, so /6 is now the least recently used of the three kept.
    expect((await ask('vims-edge-1', urls[5] ?? '')).xCache).toBe('HIT');
    await ask('vims-edge-1', 'http://many.example.com/new');
    const edge = sim.edges.edge('vims-edge-1');
    expect(edge.cached().map((o) => o.target)).toEqual(['/7', '/5', '/new']);
    expect(sim.edges.vims.shieldCached()).toHaveLength(3);
    expect(edge.requests).toHaveLength(5);
    expect((await ask('vims-edge-1', urls[0] ?? '')).xCache).toBe('MISS');
  });

  it('holds at most maxPending purges on their way, the oldest giving way', () => {
    const progress: { value: PurgeProgress } = { value: { state: 'running', percent: 0 } };
    const applied: string[] = [];
    const ledger = createPurgeLedger(
      ['e1'],
      { apply: (node, order) => applied.push(`${String(node === 'e1' ? 'e1' : 'shield')}:${order.id}`) },
      2,
    );
    for (const id of ['a', 'b', 'c']) {
      ledger.receive({ id, parts: [{ matches: () => true, progress: () => progress.value }] });
    }
    expect(ledger.pending).toBe(2);
    ledger.settle();
    expect(applied).toEqual([]);
    progress.value = { state: 'succeeded' };
    ledger.settle();
    expect(applied).toEqual(['shield:b', 'e1:b', 'shield:c', 'e1:c']);
    expect(ledger.pending).toBe(0);
  });

  it('starts no edge and no origin port unless asked, and keeps the documented listing', async () => {
    const { sim } = await setup();
    expect(sim.edges.all).toEqual([]);
    expect(sim.edges.origin.url).toBeUndefined();
    expect(sim.vims.services.flatMap((s) => s.hosts.map((h) => h.ip))).toEqual(['192.0.2.11', '192.0.2.12']);
    expect(() => sim.edges.edge('vims-edge-1')).toThrow(/unknown edge vims-edge-1/);
  });

  it('refuses an edge count it cannot honour with a clear error', async () => {
    await expect(setup({}, { edges: { count: 65 } })).rejects.toThrow(/from 0 to 64, got 65/);
    await expect(setup({}, { edges: { vims: 1.5 } })).rejects.toThrow(/got 1\.5/);
  });
});

describe('simulator demo entry with edges', () => {
  it('starts SIM_EDGES edges per CDN and prints their addresses in its start-up line', async () => {
    const entry = fileURLToPath(new URL('../../src/simulator/main.ts', import.meta.url));
    const child = spawn(process.execPath, [entry], {
      env: { ...process.env, SIM_PORT: '0', SIM_EDGES: '2', SIM_VIMS_TOKEN: 'sk_live_demo_edges' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit');
    try {
      const lines = createInterface({ input: child.stdout });
      const [first] = (await once(lines, 'line')) as [string];
      expect(first).not.toContain('sk_live_demo_edges');
      const started = JSON.parse(first) as {
        vimsServices: Array<{ id: number; hosts: number[] }>;
        edges: {
          vims: Array<{ id: string; url: string }>;
          quantil: Array<{ id: string; url: string }>;
          origin: string;
        };
      };
      expect(started.vimsServices).toEqual([{ id: 101, hosts: [201, 202] }]);
      expect(started.edges.vims.map((e) => e.id)).toEqual(['vims-edge-1', 'vims-edge-2']);
      expect(started.edges.quantil.map((e) => e.id)).toEqual(['quantil-edge-1', 'quantil-edge-2']);
      expect(started.edges.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await request(`${started.edges.quantil[1]?.url}/news/today.html`, {
        method: 'HEAD',
        headers: { host: 'www.example.com' },
        dispatcher: agent,
      });
      expect([res.statusCode, res.headers['x-served-by'], res.headers['x-cache']]).toEqual([
        200,
        'quantil-edge-2',
        'MISS',
      ]);
      await res.body.dump();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toEqual([0, null]);
  });
});
