import { describe, expect, it } from 'vitest';
import { varnishCdnSchema } from '../../src/config/schema.ts';
import { nodesOf } from '../../src/providers/varnish/config.ts';
import {
  escapeRegex,
  remoteIdFor,
  requestTarget,
  splitIntoBatches,
  statusOfRemoteId,
  toRequests,
} from '../../src/providers/varnish/mapping.ts';

describe('Varnish mapping', () => {
  it('sends a URL as PURGE of its path and query, with the site host (and port) as Host', () => {
    expect(
      toRequests(
        { urls: ['https://www.example.com/a.jpg?v=2&w=3', 'http://img.example.com:8080/b?'], dirs: [] },
        undefined,
      ),
    ).toEqual([
      { method: 'PURGE', path: '/a.jpg?v=2&w=3', host: 'www.example.com' },
      { method: 'PURGE', path: '/b?', host: 'img.example.com:8080' },
    ]);
  });

  it('bans a dir by its anchored, escaped prefix', () => {
    expect(toRequests({ urls: [], dirs: ['https://www.example.com/a.b+(c)/'] }, undefined)).toEqual([
      { method: 'BAN', path: '/', host: 'www.example.com', ban: '^/a\\.b\\+\\(c\\)/' },
    ]);
    expect(new RegExp(`^${escapeRegex('/x.y?[z]')}$`).test('/x.y?[z]')).toBe(true);
  });

  it('bans a pattern and all once per configured host, and refuses them without hosts', () => {
    const hosts = ['a.example.com', 'b.example.com'];
    expect(toRequests({ urls: [], dirs: [], pattern: '\\.css$' }, hosts)).toEqual(
      hosts.map((host) => ({ method: 'BAN', path: '/', host, ban: '\\.css$' })),
    );
    expect(toRequests({ urls: [], dirs: [], all: true }, hosts).map((r) => r.ban)).toEqual(['^/', '^/']);
    expect(() => toRequests({ urls: [], dirs: [], all: true }, undefined)).toThrow(
      expect.objectContaining({ code: 'KIND_UNSUPPORTED' }),
    );
  });

  it('refuses a pattern with a space, a quote or a control character', () => {
    for (const pattern of ['a b', 'a"b', 'a\u0000b']) {
      expect(() => toRequests({ urls: [], dirs: [], pattern }, ['h.example.com'])).toThrow(
        expect.objectContaining({ code: 'REQUEST_INVALID' }),
      );
    }
  });

  it('splits URLs and dirs into batches of maxItems, pattern and all into their own', () => {
    const urls = ['https://h/1', 'https://h/2', 'https://h/3'];
    expect(splitIntoBatches({ urls, dirs: ['https://h/d/'], pattern: 'x', all: true }, 2)).toEqual([
      { urls: [], dirs: [], all: true },
      { urls: [], dirs: [], pattern: 'x' },
      { urls: ['https://h/1', 'https://h/2'], dirs: [] },
      { urls: ['https://h/3'], dirs: ['https://h/d/'] },
    ]);
  });

  it('keeps the hash out of the request target', () => {
    expect(requestTarget('https://h.example.com/p?q=1#frag')).toEqual({
      host: 'h.example.com',
      path: '/p?q=1',
    });
  });

  it('answers succeeded for its own remote ids only', () => {
    const id = remoteIdFor(3);
    expect(id).toMatch(/^varnish:3n:/);
    expect(statusOfRemoteId(id)).toEqual({ state: 'succeeded', progress: 100 });
    expect(statusOfRemoteId('424242')).toBeUndefined();
    expect(statusOfRemoteId(`${id}x`)).toBeUndefined();
  });

  it('lists baseUrl first and each node once', () => {
    const config = varnishCdnSchema.parse({
      id: 'c',
      provider: 'varnish',
      baseUrl: 'http://10.0.0.5:6081/',
      nodes: ['http://10.0.0.6:6081', 'http://10.0.0.5:6081'],
    });
    expect(nodesOf(config)).toEqual(['http://10.0.0.5:6081', 'http://10.0.0.6:6081']);
    expect(config).toMatchObject({ banHeader: 'x-ban-url', perNodeConcurrency: 4, maxItemsPerCall: 50 });
    expect(() =>
      varnishCdnSchema.parse({ id: 'c', provider: 'varnish', baseUrl: 'http://n', banHeader: 'bad header' }),
    ).toThrow();
  });
});
