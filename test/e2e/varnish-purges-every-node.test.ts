import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVarnishNodes, type VarnishNodes } from '../../src/simulator/varnish.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

const SECRET = { header: 'x-purge-token', value: 'e2e-shared-secret-of-the-vcl' };

function entry(id: string, nodes: VarnishNodes) {
  const [baseUrl, ...others] = nodes.urls;
  return { id, provider: 'varnish', baseUrl, nodes: others, secret: SECRET };
}

describe('a purge through Varnish nodes', () => {
  let fleet: VarnishNodes;
  let locked: VarnishNodes;
  let service: TestService;

  beforeAll(async () => {
    fleet = await startVarnishNodes({ count: 3, secret: SECRET });
    // Its ACL admits only an address the worker does not send from: every purge is refused.
    locked = await startVarnishNodes({ count: 2, secret: SECRET, acl: ['192.168.55.10'] });
    const cdns = [entry('cache', fleet), entry('locked', locked)];
    service = startTestService(
      testConfigInput(
        'http://127.0.0.1:1',
        { routes: [{ hosts: ['*.example.com'], cdns: ['cache'] }] },
        cdns,
      ),
    );
  });
  afterAll(async () => {
    await service.close();
    await fleet.close();
    await locked.close();
  });

  const sent = (nodes: VarnishNodes, from: number[]) =>
    nodes.nodes.map(
      (node, index) => node.requests.filter((r) => r.op === 'submit').length - (from[index] ?? 0),
    );
  const counts = (nodes: VarnishNodes) => sent(nodes, []);

  it('succeeds once every node has purged, without polling any of them', async () => {
    for (const node of fleet.nodes) {
      node.cache.put('www.example.com', '/news/a.html');
      node.cache.put('www.example.com', '/sport/live.html');
      node.cache.put('www.example.com', '/weather.html');
    }
    const before = counts(fleet);
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/news/a.html'],
      dirs: ['https://www.example.com/sport/'],
    });
    const status = await service.waitForFinish(id);

    expect(status.state).toBe('succeeded');
    expect(status.batches).toHaveLength(1);
    expect(status.batches[0]).toMatchObject({
      cdnId: 'cache',
      state: 'succeeded',
      attempts: 1,
      // Ended at its acceptance, never polled, and the status says why.
      polls: 0,
      completion: 'Varnish answers once purged: all 3 node(s) did, nothing to poll',
      remoteId: expect.stringMatching(/^varnish:3n:/),
    });
    // One PURGE and one BAN per node, nothing more: status never went back to the nodes.
    expect(sent(fleet, before)).toEqual([2, 2, 2]);
    for (const node of fleet.nodes) {
      expect(node.cache.has('www.example.com', '/news/a.html')).toBe(false);
      expect(node.cache.has('www.example.com', '/sport/live.html')).toBe(false);
      expect(node.cache.has('www.example.com', '/weather.html')).toBe(true);
    }
  });

  it('retries when one node answers 503, until every node has answered 2xx', async () => {
    const before = counts(fleet);
    fleet.nodes[1]?.faults.inject('submit', { kind: 'status', status: 503 });
    for (const node of fleet.nodes) node.cache.put('www.example.com', '/retry.html');
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/retry.html'],
    });
    const status = await service.waitForFinish(id);

    expect(status.state).toBe('succeeded');
    expect(status.batches[0]).toMatchObject({ state: 'succeeded', attempts: 2 });
    // The retry resends to every node: PURGE is idempotent, and the pipeline keeps no per-node record.
    expect(sent(fleet, before)).toEqual([2, 2, 2]);
    expect(fleet.nodes.every((node) => !node.cache.has('www.example.com', '/retry.html'))).toBe(true);
    expect(fleet.nodes[1]?.faults.pending()).toBe(0);
  });

  it("fails at once, without retrying, when the nodes' ACL refuses the worker", async () => {
    const before = counts(locked);
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/a.html'],
      cdns: ['locked'],
    });
    const status = await service.waitForFinish(id);

    expect(status.state).toBe('failed');
    expect(status.batches[0]).toMatchObject({
      cdnId: 'locked',
      state: 'failed',
      attempts: 1,
      errorCode: 'CDN_AUTH',
    });
    expect(status.batches[0]?.error).toMatch(/HTTP 405 — refused by the node's ACL \(.*Not allowed\./);
    expect(sent(locked, before)).toEqual([1, 1]);
  });
});
