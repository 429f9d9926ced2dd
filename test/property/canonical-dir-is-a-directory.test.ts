import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalUrl } from '../../src/model/url.ts';
import { rawUrl } from './arbitraries.ts';

/**
 * A dir is a directory on every CDN: it ends in `/` and has no query string. An empty query (`/news/?`) is a
 * query too: WHATWG's `search` reads '' for it, but the URL (and what a CDN is sent) keeps the `?`.
 */
describe('canonical dirs (property)', () => {
  it('a canonical dir ends in / and carries no query, not even an empty one', () => {
    fc.assert(
      fc.property(rawUrl, (raw) => {
        const dir = canonicalUrl(raw, 'dir');
        if (!dir.ok) return;
        expect(dir.value.endsWith('/'), dir.value).toBe(true);
        expect(dir.value, dir.value).not.toContain('?');
      }),
      { numRuns: 3000 },
    );
  });

  it.each(['', 'page=2', '='])(
    'refuses a dir written with the query "?%s", and keeps it on a URL',
    (query) => {
      const written = `https://www.example.com/news/?${query}`;
      expect(canonicalUrl(written, 'dir')).toEqual({ ok: false, reason: 'a dir cannot have a query string' });
      expect(canonicalUrl(written, 'url')).toEqual({ ok: true, value: written });
    },
  );
});
