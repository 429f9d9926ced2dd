import { describe, expect, it } from 'vitest';
import { cloudfrontCdnSchema } from '../../src/config/schema.ts';
import { PurgeError } from '../../src/errors.ts';
import { toPurgeError } from '../../src/providers/cloudfront/errors.ts';
import {
  type BatchOptions,
  batchCallerReference,
  callerReference,
  freshCallerReference,
  idFromLocation,
  pathOfDir,
  pathOfUrl,
  splitIntoBatches,
  statusOf,
  toInvalidationPaths,
} from '../../src/providers/cloudfront/mapping.ts';

const OPTIONS: BatchOptions = {
  cdnId: 'cf',
  maxItemsPerCall: 3000,
  maxWildcardsPerCall: 15,
  hosts: undefined,
  cacheTags: false,
};
const urls = (n: number, prefix = 'f') =>
  Array.from({ length: n }, (_, i) => `https://www.example.com/${prefix}${i}`);
const dirs = (n: number) => Array.from({ length: n }, (_, i) => `https://www.example.com/d${i}/`);

describe('CloudFront config', () => {
  it('defaults the region, caps and waits, and refuses what cannot be a distribution id', () => {
    const base = {
      id: 'cf',
      provider: 'cloudfront',
      baseUrl: 'https://cloudfront.amazonaws.com',
      distributionId: 'EDFDVBD632BHDS5',
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'secret',
    };
    expect(cloudfrontCdnSchema.parse(base)).toMatchObject({
      region: 'us-east-1',
      maxItemsPerCall: 3000,
      cacheTags: false,
      callerReferenceWindowMs: 60_000,
      busyRetryAfterMs: 60_000,
      throttleRetryAfterMs: 2_000,
    });
    expect(cloudfrontCdnSchema.safeParse({ ...base, distributionId: '../x' }).success).toBe(false);
    expect(cloudfrontCdnSchema.safeParse({ ...base, maxItemsPerCall: 3001 }).success).toBe(false);
    expect(cloudfrontCdnSchema.safeParse({ ...base, bucket: 'x' }).success).toBe(false);
  });
});

describe('CloudFront paths', () => {
  it('takes a URL as its path and query (encoded as the canonical URL is), never its host', () => {
    expect(pathOfUrl('https://www.example.com/a.jpg?v=2')).toBe('/a.jpg?v=2');
    expect(pathOfUrl('https://other.example.net/a.jpg?v=2')).toBe('/a.jpg?v=2');
    expect(pathOfUrl('https://www.example.com/caf%C3%A9/x?')).toBe('/caf%C3%A9/x?');
    expect(pathOfUrl('https://www.example.com/')).toBe('/');
  });

  it('takes a dir as a wildcard under it and all as /*', () => {
    expect(pathOfDir('https://www.example.com/news/')).toBe('/news/*');
    expect(pathOfDir('https://www.example.com/')).toBe('/*');
    expect(toInvalidationPaths({ urls: ['https://www.example.com/a'], dirs: [], all: true })).toEqual({
      paths: ['/*'],
      wildcards: 1,
    });
  });

  it('sends each path once, sorted, tags as #tag', () => {
    expect(
      toInvalidationPaths({
        urls: ['https://a.example.com/z', 'https://b.example.com/z', 'https://a.example.com/b'],
        dirs: ['https://a.example.com/n/'],
        tags: ['t1'],
      }),
    ).toEqual({ paths: ['#t1', '/b', '/n/*', '/z'], wildcards: 1 });
    expect(() => toInvalidationPaths({ urls: [], dirs: [] })).toThrow(PurgeError);
  });
});

describe('CloudFront batches', () => {
  it('refuses pattern always and tags without cacheTags, naming the CDN', () => {
    for (const target of [
      { urls: [], dirs: [], pattern: 'x' },
      { urls: [], dirs: [], tags: ['t'] },
    ]) {
      expect(() => splitIntoBatches(target, OPTIONS)).toThrow(
        expect.objectContaining({
          code: 'KIND_UNSUPPORTED',
          message: expect.stringContaining('cf (cloudfront)'),
        }),
      );
    }
    expect(splitIntoBatches({ urls: [], dirs: [], tags: ['t'] }, { ...OPTIONS, cacheTags: true })).toEqual([
      { urls: [], dirs: [], tags: ['t'] },
    ]);
  });

  it('refuses a URL with a *, a path over 4,000 characters, and a host the distribution does not serve', () => {
    const refusal = (target: { urls: string[]; dirs: string[] }, options = OPTIONS) => {
      try {
        splitIntoBatches(target, options);
      } catch (error) {
        return error as PurgeError;
      }
      throw new Error('not refused');
    };
    expect(refusal({ urls: ['https://www.example.com/a*'], dirs: [] }).message).toMatch(/wildcard/);
    expect(refusal({ urls: [`https://www.example.com/${'a'.repeat(4000)}`], dirs: [] }).code).toBe(
      'REQUEST_INVALID',
    );
    const hosts = { ...OPTIONS, hosts: ['www.example.com'] };
    expect(refusal({ urls: [], dirs: ['https://img.example.com/x/'] }, hosts).message).toMatch(
      /serves www\.example\.com, not img\.example\.com/,
    );
    expect(splitIntoBatches({ urls: ['https://www.example.com/a'], dirs: [] }, hosts)).toHaveLength(1);
  });

  it('never puts more than maxItemsPerCall paths or 15 wildcards in one batch', () => {
    const batches = splitIntoBatches({ urls: urls(3001), dirs: dirs(31) }, OPTIONS);
    expect(batches.map((b) => [b.urls.length, b.dirs.length])).toEqual([
      [3000, 0],
      [1, 15],
      [0, 15],
      [0, 1],
    ]);
    const small = splitIntoBatches(
      { urls: urls(5), dirs: dirs(3), tags: ['a', 'b'] },
      { ...OPTIONS, maxItemsPerCall: 4, cacheTags: true },
    );
    expect(small).toEqual([
      { urls: urls(4), dirs: [] },
      { urls: urls(1).map((u) => u.replace('f0', 'f4')), dirs: dirs(3) },
      { urls: [], dirs: [], tags: ['a', 'b'] },
    ]);
    for (const batch of splitIntoBatches({ urls: urls(7000), dirs: dirs(100) }, OPTIONS)) {
      expect(batch.urls.length + batch.dirs.length).toBeLessThanOrEqual(3000);
      expect(batch.dirs.length).toBeLessThanOrEqual(15);
    }
  });

  it('puts all in a batch of its own', () => {
    expect(splitIntoBatches({ urls: [], dirs: [], all: true }, OPTIONS)).toEqual([
      { urls: [], dirs: [], all: true },
    ]);
  });
});

describe('CloudFront CallerReference', () => {
  const paths = ['/a', '/b/*'];

  it("is a batch's own when the pipeline gives a submit key: the key as it is, or its digest", () => {
    const paths = ['/a.html', '/news/*'];
    const ref = batchCallerReference(paths, 'cf-main-12:1796220000000');
    expect(ref).toMatch(/^purge-worker:[0-9a-f]{40}:cf-main-12:1796220000000$/);
    expect(batchCallerReference(paths, 'cf-main-12:1796220000000')).toBe(ref);
    expect(batchCallerReference(paths, 'cf-main-13:1796220000000')).not.toBe(ref);
    expect(batchCallerReference(['/a.html'], 'cf-main-12:1796220000000')).not.toBe(ref);
    // A key outside the readable set (or too long) stands as its digest: a bounded, plain reference.
    expect(batchCallerReference(paths, 'x'.repeat(101))).toMatch(/^purge-worker:[0-9a-f]{40}:[0-9a-f]{40}$/);
    expect(batchCallerReference(paths, 'a b')).toMatch(/^purge-worker:[0-9a-f]{40}:[0-9a-f]{40}$/);
  });

  it('is the same for the same paths within one slot, and new in the next or for other paths', () => {
    const at = 1_800_000_000_000;
    const ref = callerReference(paths, at, 60_000);
    expect(ref).toMatch(/^purge-worker:[0-9a-f]{40}:30000000$/);
    expect(callerReference(paths, at + 59_999, 60_000)).toBe(ref);
    expect(callerReference(paths, at + 60_000, 60_000)).not.toBe(ref);
    expect(callerReference(['/a'], at, 60_000)).not.toBe(ref);
  });

  it('is new every time with a window of 0, or when made fresh', () => {
    expect(callerReference(paths, 0, 0)).not.toBe(callerReference(paths, 0, 0));
    expect(freshCallerReference(paths)).toMatch(/^purge-worker:[0-9a-f]{40}:[0-9a-f-]{36}$/);
  });
});

describe('CloudFront status and ids', () => {
  it('reads Completed as succeeded, InProgress as running, anything else as running with a note', () => {
    expect(statusOf('Completed')).toEqual({ state: 'succeeded', progress: 100 });
    expect(statusOf('InProgress')).toEqual({ state: 'running' });
    expect(statusOf('Queued')).toEqual({
      state: 'running',
      note: 'unknown CloudFront invalidation status "Queued"',
    });
    expect(statusOf(undefined)).toMatchObject({ state: 'running' });
  });

  it('takes the id from either Location form', () => {
    expect(
      idFromLocation(
        'https://cloudfront.amazonaws.com/2020-05-31/distribution/E1/invalidation/I2J0I21PCUYOIK',
      ),
    ).toBe('I2J0I21PCUYOIK');
    expect(
      idFromLocation('https://cloudfront.global.api.aws/2020-05-31/distribution/E1/invalidation/IX1/'),
    ).toBe('IX1');
    expect(idFromLocation('https://x/other')).toBeUndefined();
    expect(idFromLocation(undefined)).toBeUndefined();
  });
});

describe('CloudFront error classification', () => {
  const context = (response?: { status: number; headers?: Record<string, string>; body?: string }) => ({
    what: 'CreateInvalidation',
    busyRetryAfterMs: 60_000,
    throttleRetryAfterMs: 2_000,
    observed: response ? { response: { headers: {}, body: '<ErrorResponse/>', ...response } } : {},
  });
  const sdkError = (name: string, status: number, message = 'm') =>
    Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status } });

  it.each([
    ['TooManyInvalidationsInProgress', 400, 'CDN_BUSY', true],
    ['Throttling', 400, 'CDN_RATE_LIMITED', true],
    ['AccessDenied', 403, 'CDN_AUTH', false],
    ['InvalidClientTokenId', 403, 'CDN_AUTH', false],
    ['SignatureDoesNotMatch', 403, 'CDN_AUTH', false],
    ['NoSuchInvalidation', 404, 'CDN_NOT_FOUND', false],
    ['NoSuchDistribution', 404, 'CDN_REJECTED', false],
    ['BatchTooLarge', 413, 'CDN_REJECTED', false],
    ['InconsistentQuantities', 400, 'CDN_REJECTED', false],
    ['InvalidationBatchAlreadyExists', 400, 'CDN_REJECTED', false],
    ['ServiceUnavailable', 503, 'CDN_UNAVAILABLE', true],
    ['SomethingNew', 500, 'CDN_UNAVAILABLE', true],
    ['SomethingNew', 400, 'CDN_REJECTED', false],
  ] as const)('%s (HTTP %i) is %s', (name, status, code, retryable) => {
    const error = toPurgeError(sdkError(name, status), context({ status }));
    expect([error.code, error.retryable, error.httpStatus]).toEqual([code, retryable, status]);
  });

  it('waits CDN_BUSY and Throttling out as configured unless a Retry-After says otherwise', () => {
    expect(
      toPurgeError(sdkError('TooManyInvalidationsInProgress', 400), context({ status: 400 })).retryAfterMs,
    ).toBe(60_000);
    expect(toPurgeError(sdkError('Throttling', 400), context({ status: 400 })).retryAfterMs).toBe(2_000);
    const withHeader = context({ status: 400, headers: { 'retry-after': '3' } });
    expect(toPurgeError(sdkError('Throttling', 400), withHeader).retryAfterMs).toBe(3_000);
  });

  it('passes our own transport errors through, and reads an unparsable 2xx as permanent', () => {
    const ours = new PurgeError('CDN_TIMEOUT', 'timed out', { retryable: true });
    expect(toPurgeError(ours, context())).toBe(ours);
    const parse = Object.assign(new Error('Deserialization error'), { $metadata: { httpStatusCode: 201 } });
    expect(toPurgeError(parse, context({ status: 201, body: '<x' }))).toMatchObject({
      code: 'CDN_BAD_RESPONSE',
      retryable: false,
    });
  });
});
