import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { MASK, maskSecrets } from '../../src/config/mask.ts';
import { cloudflareCdnSchema } from '../../src/config/schema.ts';
import { capsOf } from '../../src/providers/cloudflare/config.ts';
import {
  parseEnvelope,
  rateHeaderOf,
  refusalOf,
  tooManyItemsLimit,
} from '../../src/providers/cloudflare/envelope.ts';
import {
  bodyOf,
  prefixOf,
  remoteIdFor,
  splitIntoBatches,
  statusOfRemoteId,
  toCalls,
} from '../../src/providers/cloudflare/mapping.ts';
import type { HttpResponse } from '../../src/providers/http.ts';

const caps = { files: 30, flex: 100 };
const empty = { urls: [], dirs: [] };
const entry = {
  id: 'cf',
  provider: 'cloudflare',
  zoneId: '023e105f4ecef8ad9ca31a8372d0c353',
  apiToken: 'Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY',
};
const response = (status: number, body: unknown, headers: HttpResponse['headers'] = {}): HttpResponse => ({
  status,
  headers,
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
const failed = (code: number, message: string) => ({
  success: false,
  errors: [{ code, message }],
  result: null,
});

describe('Cloudflare config', () => {
  it("defaults baseUrl to Cloudflare's API, the plan to free, and the caps by plan", () => {
    const config = cloudflareCdnSchema.parse(entry);
    expect(config).toMatchObject({
      baseUrl: 'https://api.cloudflare.com/client/v4',
      plan: 'free',
      soft: false,
      maxFlexItemsPerCall: 100,
      propagationMs: 150,
    });
    expect(capsOf(config)).toEqual({ files: 30, flex: 100 });
    expect(capsOf(cloudflareCdnSchema.parse({ ...entry, plan: 'enterprise' }))).toEqual({
      files: 500,
      flex: 100,
    });
    expect(capsOf(cloudflareCdnSchema.parse({ ...entry, maxFilesPerCall: 100 }))).toEqual({
      files: 100,
      flex: 100,
    });
  });

  it('refuses a zone id that is not 32 hex digits, a token with spaces, and unknown fields', () => {
    expect(cloudflareCdnSchema.safeParse({ ...entry, zoneId: 'example.com' }).success).toBe(false);
    expect(cloudflareCdnSchema.safeParse({ ...entry, apiToken: 'a token with spaces in it' }).success).toBe(
      false,
    );
    expect(cloudflareCdnSchema.safeParse({ ...entry, email: 'x@example.com' }).success).toBe(false);
  });
});

describe('Cloudflare mapping', () => {
  it('turns a dir into host+path without scheme, keeping a port, refusing too deep a path', () => {
    expect(prefixOf('https://www.example.com/foo/')).toBe('www.example.com/foo/');
    expect(prefixOf('http://www.example.com:8080/a/b/')).toBe('www.example.com:8080/a/b/');
    expect(prefixOf(`https://h.example/${'d/'.repeat(30)}`)).toMatch(/^h\.example\//);
    expect(() => prefixOf(`https://h.example/${'d/'.repeat(31)}`)).toThrow(
      /32 path separators, more than 31/,
    );
    expect(() => prefixOf('https://h.example/a/?q=1')).toThrow(/query string/);
  });

  it('makes one call per kind, each within its cap, in a fixed order', () => {
    const urls = Array.from({ length: 31 }, (_, i) => `https://www.example.com/${i}`);
    const calls = toCalls(
      { urls, dirs: ['https://www.example.com/d/'], tags: ['t1', 't2'], all: true },
      caps,
      undefined,
    );
    expect(calls.map((c) => [c.field, c.items.length])).toEqual([
      ['files', 30],
      ['files', 1],
      ['prefixes', 1],
      ['tags', 2],
      ['purge_everything', 0],
    ]);
    expect(calls.map(bodyOf).slice(2)).toEqual([
      { prefixes: ['www.example.com/d/'] },
      { tags: ['t1', 't2'] },
      { purge_everything: true },
    ]);
    expect(toCalls({ ...empty, all: true }, caps, ['a.example', 'b.example']).map(bodyOf)).toEqual([
      { hosts: ['a.example', 'b.example'] },
    ]);
  });

  it('refuses pattern naming the CDN entry, and an empty batch', () => {
    expect(() => splitIntoBatches({ ...empty, pattern: 'x' }, caps, 'cf-main')).toThrow(
      expect.objectContaining({
        code: 'KIND_UNSUPPORTED',
        message: expect.stringContaining('CDN cf-main (cloudflare)'),
      }),
    );
    expect(() => toCalls(empty, caps, undefined)).toThrow(
      expect.objectContaining({ code: 'REQUEST_INVALID' }),
    );
  });

  it('splits a target into single-kind batches of at most the smaller cap (urls, dirs) or the flex cap (tags)', () => {
    const urls = Array.from({ length: 45 }, (_, i) => `https://www.example.com/${i}`);
    const dirs = Array.from({ length: 31 }, (_, i) => `https://www.example.com/${i}/`);
    const tags = Array.from({ length: 101 }, (_, i) => `t${i}`);
    const batches = splitIntoBatches({ urls, dirs, tags }, caps, 'cf');
    expect(batches.map((b) => [b.urls.length, b.dirs.length, b.tags?.length ?? 0])).toEqual([
      [30, 0, 0],
      [15, 0, 0],
      [0, 30, 0],
      [0, 1, 0],
      [0, 0, 100],
      [0, 0, 1],
    ]);
    expect(splitIntoBatches({ ...empty, all: true }, caps, 'cf')).toEqual([{ ...empty, all: true }]);
  });

  it('answers status from a remote id of its own shape only, and keeps only plain ids from Cloudflare', () => {
    const id = remoteIdFor(['023e105f4ecef8ad9ca31a8372d0c353', undefined, 'bad id<script>']);
    expect(id).toMatch(/^cloudflare:3c:023e105f4ecef8ad9ca31a8372d0c353\.[0-9a-f]{32}\.[0-9a-f]{32}$/);
    expect(statusOfRemoteId(id)).toEqual({ state: 'succeeded', progress: 100 });
    expect(statusOfRemoteId('424242')).toBeUndefined();
    expect(statusOfRemoteId('varnish:3n:x')).toBeUndefined();
  });
});

describe('Cloudflare envelope', () => {
  it('reads the envelope with result an object, {} or null, and anything else as no envelope', () => {
    expect(parseEnvelope('{"success":true,"errors":[],"messages":[],"result":{"id":"abc"}}')).toMatchObject({
      success: true,
      result: { id: 'abc' },
    });
    expect(parseEnvelope(JSON.stringify(failed(1012, 'Request must contain one of ...')))).toMatchObject({
      success: false,
      errors: [{ code: 1012, message: 'Request must contain one of ...' }],
    });
    expect(parseEnvelope('<html>502</html>')).toBeUndefined();
    expect(parseEnvelope('[1]')).toBeUndefined();
  });

  it('reads the Ratelimit header (r, t) and the older separate headers', () => {
    expect(rateHeaderOf(response(200, {}, { ratelimit: '"default";r=50;t=30' }))).toEqual({
      remaining: 50,
      resetAfterMs: 30_000,
    });
    expect(rateHeaderOf(response(200, {}, { 'ratelimit-remaining': '0', 'ratelimit-reset': '12' }))).toEqual({
      remaining: 0,
      resetAfterMs: 12_000,
    });
    expect(rateHeaderOf(response(200, {}, { ratelimit: '"default";q=5' }))).toBeUndefined();
    expect(rateHeaderOf(response(200, {}))).toBeUndefined();
    // Bounded: only the first 256 characters of a header are looked at.
    expect(rateHeaderOf(response(200, {}, { ratelimit: `"default";r=5;t=1;${' '.repeat(300)}` }))).toEqual({
      remaining: 5,
      resetAfterMs: 1000,
    });
    expect(rateHeaderOf(response(200, {}, { ratelimit: `"${'x'.repeat(300)}";r=5;t=1` }))).toBeUndefined();
  });

  it('maps 429 to CDN_RATE_LIMITED, waiting Retry-After, else the Ratelimit t=', () => {
    const body = failed(971, 'Please wait and consider throttling your request speed');
    const withRetry = response(429, body, { 'retry-after': '3', ratelimit: '"default";r=0;t=40' });
    const withoutRetry = response(429, body, { ratelimit: '"default";r=0;t=40' });
    const what = 'Cloudflare purge_cache';
    expect(refusalOf(withRetry, parseEnvelope(withRetry.body), what)).toMatchObject({
      code: 'CDN_RATE_LIMITED',
      retryable: true,
      retryAfterMs: 3000,
    });
    expect(refusalOf(withoutRetry, parseEnvelope(withoutRetry.body), what)).toMatchObject({
      code: 'CDN_RATE_LIMITED',
      retryAfterMs: 40_000,
    });
  });

  it.each([
    [401, failed(10000, 'Authentication error'), 'CDN_AUTH', false],
    [403, failed(10000, 'Authentication error'), 'CDN_AUTH', false],
    [400, failed(6003, 'Invalid request headers'), 'CDN_AUTH', false],
    [400, failed(1012, 'Request must contain one of "purge_everything", "files"'), 'CDN_REJECTED', false],
    [404, failed(7003, 'Could not route to /zones/x/purge_cache'), 'CDN_NOT_FOUND', false],
    [409, failed(1000, 'conflict'), 'CDN_UNAVAILABLE', true],
    [500, '<html>oops</html>', 'CDN_UNAVAILABLE', true],
    [200, failed(1099, 'purge failed'), 'CDN_REJECTED', false],
  ])('maps HTTP %i %j to %s (retryable %s)', (status, body, code, retryable) => {
    const answer = response(status, body);
    expect(refusalOf(answer, parseEnvelope(answer.body), 'Cloudflare purge_cache')).toMatchObject({
      code,
      retryable,
      httpStatus: status,
    });
  });

  it('recognises a too-many-items refusal and the number it allows', () => {
    const say = (message: string) => {
      const answer = response(400, failed(1018, message));
      return tooManyItemsLimit(answer, parseEnvelope(answer.body));
    };
    expect(say('You cannot provide more than... no more than 30 files')).toBe(30);
    expect(say('You may purge up to 100 items at a time')).toBe(100);
    expect(say('Too many files in one request')).toBe(0);
    expect(say('Request must contain one of "files"')).toBeUndefined();
    expect(tooManyItemsLimit(response(429, failed(1, 'no more than 5')), undefined)).toBeUndefined();
  });
});

describe('Cloudflare secrets', () => {
  it('masks apiToken in `config check`, and fills it from ${ENV}', () => {
    const config = parseConfig(
      {
        redis: { url: 'redis://127.0.0.1:6379' },
        cdns: [{ ...entry, apiToken: '${CLOUDFLARE_API_TOKEN}' }],
        routes: [{ hosts: ['*.example.com'], cdns: ['cf'] }],
      },
      { CLOUDFLARE_API_TOKEN: 'cf-secret-token-0123456789abcdef' },
    );
    expect(config.cdns[0]).toMatchObject({ apiToken: 'cf-secret-token-0123456789abcdef' });
    const printed = JSON.stringify(maskSecrets(config));
    expect(printed).not.toContain('cf-secret-token');
    expect(printed).toContain(`"apiToken":"${MASK}"`);
  });
});
