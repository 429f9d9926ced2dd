import { describe, expect, it } from 'vitest';
import { varnishCdnSchema } from '../../src/config/schema.ts';
import { createVarnishProvider } from '../../src/providers/varnish/provider.ts';
import type { FaultInjector } from '../../src/simulator/faults.ts';
import { startVarnishNodes, type VarnishNodesOptions } from '../../src/simulator/varnish.ts';
import { providerTestClient } from '../harness/provider-http.ts';
import { runProviderContract } from './contract.ts';

const SECRET = { header: 'x-purge-token', value: 'a-shared-secret-of-the-vcl' };
const http = providerTestClient;

async function rig(options: VarnishNodesOptions = {}, entry: Record<string, unknown> = {}) {
  const varnish = await startVarnishNodes({ count: 3, secret: SECRET, ...options });
  const client = http();
  const [first, ...others] = varnish.urls;
  const config = (value: string) =>
    varnishCdnSchema.parse({
      id: 'cache',
      provider: 'varnish',
      baseUrl: first,
      nodes: others,
      hosts: ['www.example.com'],
      secret: { header: SECRET.header, value },
      ...entry,
    });
  return {
    varnish,
    provider: createVarnishProvider(config(SECRET.value), { http: client }),
    badCredentials: createVarnishProvider(config('not-the-shared-secret'), { http: client }),
    // A fault on one node fails the whole submit: the contract's faults are the first node's.
    faults: varnish.nodes[0]?.faults as unknown as FaultInjector<'submit' | 'status' | 'list'>,
    finishTasks: () => {},
    close: async () => {
      await client.close();
      await varnish.close();
    },
  };
}

runProviderContract({
  name: 'Varnish',
  start: () => rig(),
  targets: {
    urls: { urls: ['https://www.example.com/a.jpg'], dirs: [] },
    dirs: { urls: [], dirs: ['https://www.example.com/news/'] },
    pattern: { urls: [], dirs: [], pattern: '\\.jpg$' },
    all: { urls: [], dirs: [], all: true },
  },
  refused: [],
  completesAtSubmit: true,
});

describe('Varnish provider specifics', () => {
  it('purges each URL on every node with the site Host, and bans a dir by its escaped prefix', async () => {
    const r = await rig();
    try {
      for (const node of r.varnish.nodes) {
        node.cache.put('www.example.com', '/a.jpg?v=2');
        node.cache.put('www.example.com', '/news/x.html');
        node.cache.put('www.example.com', '/news.html');
        node.cache.put('img.example.com', '/news/x.html');
      }
      const batches = r.provider.toBatches({
        urls: ['https://www.example.com/a.jpg?v=2'],
        dirs: ['https://www.example.com/news/'],
      });
      expect(batches).toHaveLength(1);
      const { remoteId } = await r.provider.submit(batches[0] as never);
      expect(await r.provider.status(remoteId)).toEqual({ state: 'succeeded', progress: 100 });
      for (const node of r.varnish.nodes) {
        expect(node.cache.has('www.example.com', '/a.jpg?v=2')).toBe(false);
        expect(node.cache.has('www.example.com', '/news/x.html')).toBe(false);
        expect(node.cache.has('www.example.com', '/news.html')).toBe(true);
        expect(node.cache.has('img.example.com', '/news/x.html')).toBe(true);
        const sent = node.requests.map(({ method, path, body }) => ({ method, path, body }));
        expect(sent).toEqual(
          expect.arrayContaining([
            { method: 'PURGE', path: '/a.jpg?v=2', body: { host: 'www.example.com' } },
            { method: 'BAN', path: '/', body: { host: 'www.example.com', ban: '^/news/' } },
          ]),
        );
      }
      // The status answer is the remote id's own: no node was asked again.
      expect(r.varnish.nodes.map((node) => node.requests.length)).toEqual([2, 2, 2]);
    } finally {
      await r.close();
    }
  });

  it('fails the whole submit, transiently, when one node answers 503, naming that node', async () => {
    const r = await rig();
    try {
      const failing = r.varnish.nodes[1];
      failing?.faults.inject('submit', { kind: 'status', status: 503, retryAfter: '5' });
      const error = await r.provider
        .submit({ urls: ['https://www.example.com/a'], dirs: [] })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'CDN_UNAVAILABLE', retryable: true, retryAfterMs: 5000 });
      expect((error as Error).message).toContain(`1 of 3 node(s) failed — ${failing?.url}: `);
      // The other nodes purged all the same.
      expect(r.varnish.nodes.map((node) => node.requests.length)).toEqual([1, 1, 1]);
    } finally {
      await r.close();
    }
  });

  it('reads a stopped node as a transient network failure', async () => {
    const r = await rig();
    try {
      await r.varnish.nodes[2]?.stop();
      await expect(
        r.provider.submit({ urls: ['https://www.example.com/a'], dirs: [] }),
      ).rejects.toMatchObject({ code: 'CDN_NETWORK', retryable: true });
    } finally {
      await r.close();
    }
  });

  it('reads the ACL refusal (405 "Not allowed.") as permanent, even beside a transient failure', async () => {
    const r = await rig({ acl: ['192.168.55.1'] });
    try {
      r.varnish.nodes[0]?.faults.inject('submit', { kind: 'status', status: 503 });
      const error = await r.provider
        .submit({ urls: ['https://www.example.com/a'], dirs: [] })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'CDN_AUTH', retryable: false, httpStatus: 405 });
      expect((error as Error).message).toContain('Not allowed.');
      expect(await r.provider.check()).toMatchObject({ ok: false });
    } finally {
      await r.close();
    }
  });

  it('reads a node without purge VCL (the origin answers 501) as a permanent rejection', async () => {
    const r = await rig({ purgeVcl: false });
    try {
      await expect(
        r.provider.submit({ urls: ['https://www.example.com/a'], dirs: [] }),
      ).rejects.toMatchObject({ code: 'CDN_REJECTED', retryable: false, httpStatus: 501 });
    } finally {
      await r.close();
    }
  });

  it('bans pattern and all on every configured host, and refuses them without hosts', async () => {
    const r = await rig({}, { hosts: ['www.example.com', 'img.example.com'] });
    const hostless = await rig({}, { hosts: undefined });
    try {
      for (const node of r.varnish.nodes) {
        node.cache.put('www.example.com', '/a.jpg');
        node.cache.put('img.example.com', '/b.png');
        node.cache.put('other.example.com', '/c.jpg');
      }
      await r.provider.submit({ urls: [], dirs: [], pattern: '\\.jpg$' });
      expect(r.varnish.nodes.every((node) => !node.cache.has('www.example.com', '/a.jpg'))).toBe(true);
      expect(r.varnish.nodes.every((node) => node.cache.has('img.example.com', '/b.png'))).toBe(true);
      await r.provider.submit({ urls: [], dirs: [], all: true });
      expect(r.varnish.nodes.map((node) => node.cache.size)).toEqual([1, 1, 1]);
      expect(r.varnish.nodes.every((node) => node.cache.has('other.example.com', '/c.jpg'))).toBe(true);
      for (const target of [
        { urls: [], dirs: [], pattern: 'x' },
        { urls: [], dirs: [], all: true },
      ]) {
        expect(() => hostless.provider.toBatches(target)).toThrow(
          expect.objectContaining({ code: 'KIND_UNSUPPORTED' }),
        );
      }
      expect([...hostless.provider.capabilities.kinds]).toEqual(['urls', 'dirs']);
    } finally {
      await r.close();
      await hostless.close();
    }
  });

  it('refuses a pattern a ban expression cannot carry before anything is sent', async () => {
    const r = await rig();
    try {
      expect(() => r.provider.toBatches({ urls: [], dirs: [], pattern: 'a b' })).toThrow(
        expect.objectContaining({ code: 'REQUEST_INVALID' }),
      );
      expect(r.varnish.nodes.map((node) => node.requests.length)).toEqual([0, 0, 0]);
    } finally {
      await r.close();
    }
  });

  it('times out a stalled node instead of hanging', async () => {
    const r = await rig();
    try {
      r.varnish.nodes[0]?.faults.inject('submit', { kind: 'stall' });
      await expect(
        r.provider.submit({ urls: ['https://www.example.com/a'], dirs: [] }),
      ).rejects.toMatchObject({ code: 'CDN_TIMEOUT', retryable: true });
    } finally {
      await r.close();
    }
  });
});
