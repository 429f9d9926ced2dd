import { describe, expect, it } from 'vitest';
import {
  cachedUrlOf,
  purgeIdsForLog,
  refuseUnsupported,
  remoteIdFor,
  splitIntoBatches,
  statusOfRemoteId,
  toRequests,
} from '../../src/providers/fastly/mapping.ts';

describe('Fastly mapping', () => {
  it('names a URL as host and path with its query, without scheme or fragment', () => {
    expect(cachedUrlOf('https://www.example.com/a/b.jpg?v=2#top')).toBe('www.example.com/a/b.jpg?v=2');
    expect(cachedUrlOf('http://www.example.com:8080/')).toBe('www.example.com:8080/');
    // An empty query is another object than none.
    expect(cachedUrlOf('https://www.example.com/a?')).toBe('www.example.com/a?');
  });

  it('makes one call per URL, one batch call for the keys, and purge_all alone (never soft)', () => {
    const requests = toRequests(
      { urls: ['https://www.example.com/a', 'https://img.example.com/b?x=1'], dirs: [], tags: ['k1', 'k2'] },
      'SVC123',
      true,
    );
    expect(requests).toEqual([
      { kind: 'url', path: '/purge/www.example.com/a', url: 'https://www.example.com/a', soft: true },
      { kind: 'url', path: '/purge/img.example.com/b?x=1', url: 'https://img.example.com/b?x=1', soft: true },
      {
        kind: 'keys',
        path: '/service/SVC123/purge',
        keys: ['k1', 'k2'],
        soft: true,
        body: '{"surrogate_keys":["k1","k2"]}',
      },
    ]);
    expect(toRequests({ urls: [], dirs: [], all: true }, 'SVC123', true)).toEqual([
      { kind: 'all', path: '/service/SVC123/purge_all', soft: false },
    ]);
    expect(() => toRequests({ urls: [], dirs: [] }, 'SVC123', false)).toThrow(
      expect.objectContaining({ code: 'REQUEST_INVALID' }),
    );
  });

  it('splits by the item cap and by 256 keys per batch; all is one batch on its own', () => {
    const urls = Array.from({ length: 5 }, (_, i) => `https://www.example.com/${i}`);
    const tags = Array.from({ length: 7 }, (_, i) => `k${i}`);
    const batches = splitIntoBatches({ urls, dirs: [], tags }, 4, 3);
    expect(batches.map((b) => [b.urls.length, b.tags?.length ?? 0])).toEqual([
      [4, 0],
      [1, 3],
      [0, 3],
      [0, 1],
    ]);
    expect(batches.flatMap((b) => b.urls)).toEqual(urls);
    expect(batches.flatMap((b) => b.tags ?? [])).toEqual(tags);
    expect(splitIntoBatches({ urls, dirs: [], all: true }, 4, 3)).toEqual([
      { urls: [], dirs: [], all: true },
    ]);
    expect(splitIntoBatches({ urls: [], dirs: [] }, 4, 3)).toEqual([]);
  });

  it('refuses dirs and pattern naming the CDN entry and why', () => {
    expect(() => refuseUnsupported('edge', ['urls', 'tags', 'all'])).not.toThrow();
    expect(() => refuseUnsupported('edge', ['dirs'])).toThrow(
      expect.objectContaining({
        code: 'KIND_UNSUPPORTED',
        message: expect.stringMatching(/^CDN edge \(fastly\) cannot purge dirs: .*no prefix purge/),
      }),
    );
    expect(() => refuseUnsupported('edge', ['pattern'])).toThrow(
      expect.objectContaining({
        code: 'KIND_UNSUPPORTED',
        message: expect.stringContaining('no regex purge'),
      }),
    );
  });

  it("answers status from its own remote ids only, which carry Fastly's first purge id", () => {
    expect(remoteIdFor(['108-1391560174-974124'], 1)).toBe('fastly:108-1391560174-974124');
    expect(remoteIdFor(['a b', '7-2'], 3)).toBe('fastly:7-2+2');
    const standIn = remoteIdFor([], 1);
    expect(standIn).toMatch(/^fastly:u-[0-9a-f-]{36}$/);
    for (const id of ['fastly:108-1391560174-974124', 'fastly:7-2+2', standIn])
      expect(statusOfRemoteId(id)).toEqual({ state: 'succeeded', progress: 100 });
    for (const id of ['424242', 'varnish:3n:x', 'fastly:', 'fastly:a b'])
      expect(statusOfRemoteId(id)).toBeUndefined();
  });

  it('keeps a bounded list of purge ids for the log', () => {
    expect(purgeIdsForLog([])).toBeUndefined();
    const ids = Array.from({ length: 20 }, (_, i) => `id-${i}`);
    const logged = purgeIdsForLog(ids) ?? '';
    expect(logged.split(' ').slice(0, 16)).toEqual(ids.slice(0, 16));
    expect(logged).toMatch(/ \(\+4 more\)$/);
  });
});
