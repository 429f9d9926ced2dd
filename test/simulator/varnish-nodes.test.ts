import { connect } from 'node:net';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startVarnishNodes } from '../../src/simulator/varnish.ts';

async function send(url: string, method: string, headers: Record<string, string>) {
  const response = await request(url, { method, headers });
  const body = await response.body.text();
  return { status: response.statusCode, headers: response.headers, body };
}

/** The status line itself (its reason phrase), which undici does not hand back. */
function rawStatusLine(url: string, head: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(head));
    socket.once('data', (chunk) => {
      resolve(chunk.toString('latin1').split('\r\n')[0] ?? '');
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('simulated Varnish nodes', () => {
  it('answer PURGE like builtin vcl_synth: 200 Purged, HTML, Retry-After: 5, cached or not', async () => {
    const varnish = await startVarnishNodes({ count: 1 });
    const url = varnish.urls[0] as string;
    try {
      const answer = await send(`${url}/a.jpg`, 'PURGE', { host: 'www.example.com' });
      expect(answer).toMatchObject({
        status: 200,
        headers: { 'content-type': 'text/html; charset=utf-8', 'retry-after': '5' },
      });
      expect(answer.body).toContain('<title>200 Purged</title>');
      expect(answer.body).toContain('<h1>Error 200 Purged</h1>');
      expect(await rawStatusLine(url, 'BAN / HTTP/1.1\r\nhost: h\r\nx-ban-url: ^/\r\n\r\n')).toBe(
        'HTTP/1.1 200 Ban added',
      );
      // Builtin: HTTP/1.1 without Host is 400.
      expect(await rawStatusLine(url, 'PURGE /a HTTP/1.1\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    } finally {
      await varnish.close();
    }
  });

  it('purge by xkey: "Invalidated N objects", or the legacy 404 "Key not found" when nothing matched', async () => {
    const current = await startVarnishNodes({ count: 1 });
    const legacy = await startVarnishNodes({ count: 1, xkeyHeader: 'xkey-purge', xkeyLegacy: true });
    try {
      const node = current.nodes[0];
      node?.cache.put('www.example.com', '/a', ['article-1', 'section-2']);
      node?.cache.put('img.example.com', '/b', ['article-1']);
      node?.cache.put('www.example.com', '/c', ['section-3']);
      const hit = await send(`${node?.url}/`, 'PURGE', { host: 'www.example.com', xkey: 'article-1, other' });
      expect(hit.body).toContain('Invalidated 2 objects');
      expect(node?.cache.size).toBe(1);
      const miss = await send(`${legacy.urls[0]}/`, 'PURGE', { host: 'h', 'xkey-purge': 'none' });
      expect(miss.status).toBe(404);
      expect(miss.body).toContain('Key not found');
    } finally {
      await current.close();
      await legacy.close();
    }
  });

  it('refuse a client outside the ACL: 405 "Not allowed." for PURGE, 403 for BAN', async () => {
    const varnish = await startVarnishNodes({ count: 1, acl: ['192.168.55.1'] });
    const url = varnish.urls[0] as string;
    try {
      expect(await rawStatusLine(url, 'PURGE /a HTTP/1.1\r\nhost: h\r\n\r\n')).toBe(
        'HTTP/1.1 405 Not allowed.',
      );
      expect((await send(`${url}/`, 'BAN', { host: 'h', 'x-ban-url': '^/' })).status).toBe(403);
    } finally {
      await varnish.close();
    }
  });

  it('refuse connections while stopped, and answer again once started', async () => {
    const varnish = await startVarnishNodes({ count: 2 });
    const [first, second] = varnish.nodes;
    try {
      await first?.stop();
      await expect(send(`${first?.url}/a`, 'PURGE', { host: 'h' })).rejects.toMatchObject({
        code: 'ECONNREFUSED',
      });
      expect((await send(`${second?.url}/a`, 'PURGE', { host: 'h' })).status).toBe(200);
      await first?.start();
      expect((await send(`${first?.url}/a`, 'PURGE', { host: 'h' })).status).toBe(200);
    } finally {
      await varnish.close();
    }
  });
});
