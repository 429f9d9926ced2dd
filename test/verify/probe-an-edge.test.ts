import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probeEdge } from '../../src/verify/probe.ts';
import { closeAll, setup } from '../simulator/quantil-harness.ts';

const PAGE = 'http://www.example.com/news/today.html?edition=2';

/** Asking one edge directly (its address, the URL's host in Host), over the callbacks' address guard. */
describe('probing an edge', () => {
  afterEach(closeAll);

  async function oneEdge() {
    const { sim } = await setup({}, { vims: { tokens: ['sk_live_probe_test'] }, edges: { count: 1 } });
    const edge = sim.edges.edge('vims-edge-1');
    const { port } = new URL(edge.url);
    return { edge, address: { address: '127.0.0.1', port: Number(port) } };
  }

  it("asks the edge's address for the URL under its own host, and returns what it answered", async () => {
    const { edge, address } = await oneEdge();
    const answer = await probeEdge({ url: PAGE, edge: address, timeoutMs: 2_000, allowHosts: ['127.0.0.1'] });

    expect(answer).toMatchObject({ status: 200, headers: { 'x-cache': 'MISS' } });
    expect(edge.requests.at(-1)).toMatchObject({ method: 'HEAD', host: 'www.example.com' });
    expect(JSON.stringify(edge.requests.at(-1))).toContain('/news/today.html?edition=2');
  });

  it('refuses an edge address the guard does not allow, opening no connection to it', async () => {
    const { edge, address } = await oneEdge();
    const answer = await probeEdge({ url: PAGE, edge: address, timeoutMs: 2_000, allowHosts: [] });

    expect(answer).toMatchObject({ error: expect.stringMatching(/loopback/) });
    expect(edge.requests).toHaveLength(0);
  });

  it("with no edge, asks the URL's host where the lookup sends it, through the same guard", async () => {
    const { edge, address } = await oneEdge();
    const lookup = async () => [{ address: '127.0.0.1', family: 4 }];
    const url = `http://www.example.com:${address.port}/news/today.html`;
    expect(await probeEdge({ url, lookup, timeoutMs: 2_000, allowHosts: ['127.0.0.1'] })).toMatchObject({
      status: 200,
    });
    expect(edge.requests.at(-1)).toMatchObject({ host: `www.example.com:${address.port}` });
    // Private and link-local answers are refused before any connection is made (given as data only).
    for (const refused of ['10.0.0.5', '169.254.169.254', '192.168.1.20']) {
      const answer = await probeEdge({
        url: PAGE,
        lookup: async () => [{ address: refused, family: 4 }],
        timeoutMs: 500,
        allowHosts: ['127.0.0.1'],
      });
      expect(answer).toMatchObject({ error: expect.stringMatching(/private|link-local/) });
    }
  });

  it("asks an edge on its own port (or the scheme's), never on a port the purged URL names", async () => {
    const { edge, address } = await oneEdge();
    // The URL names the edge's real port; the edge is given without one, so 80 is asked (nothing there).
    const url = `http://www.example.com:${address.port}/news/today.html`;
    const answer = await probeEdge({
      url,
      edge: { address: '127.0.0.1' },
      timeoutMs: 1_000,
      allowHosts: ['127.0.0.1'],
    });
    expect(answer).toHaveProperty('error');
    expect(edge.requests).toHaveLength(0);
  });

  it('asks only http(s) URLs, and only an IP address as the edge', async () => {
    const allowHosts = ['127.0.0.1'];
    expect(
      await probeEdge({
        url: 'ftp://www.example.com/a',
        edge: { address: '127.0.0.1' },
        timeoutMs: 500,
        allowHosts,
      }),
    ).toEqual({
      error: 'not http(s): ftp:',
    });
    expect(
      await probeEdge({ url: PAGE, edge: { address: 'localhost' }, timeoutMs: 500, allowHosts }),
    ).toEqual({
      error: 'edge address localhost is not an IP address',
    });
  });

  it('gives up on an edge that never answers within the timeout, as an answer that says so', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('data', () => {}); // accepts, reads, never answers
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const started = performance.now();
      const answer = await probeEdge({
        url: PAGE,
        edge: { address: '127.0.0.1', port },
        timeoutMs: 300,
        allowHosts: ['127.0.0.1'],
      });
      expect(answer).toMatchObject({ error: expect.any(String) });
      expect(performance.now() - started).toBeLessThan(10_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
