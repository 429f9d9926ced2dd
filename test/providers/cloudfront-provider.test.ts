import { afterEach, describe, expect, it } from 'vitest';
import { cloudfrontCdnSchema } from '../../src/config/schema.ts';
import { PurgeError } from '../../src/errors.ts';
import type { PurgeTarget } from '../../src/model/purge.ts';
import { createCloudFrontProvider } from '../../src/providers/cloudfront/provider.ts';
import { createHttpClient, type HttpClient, type HttpRequest } from '../../src/providers/http.ts';
import type { Provider } from '../../src/providers/provider.ts';
import {
  type AwsAccount,
  type CloudFrontSimulator,
  type CloudFrontSimulatorOptions,
  DEFAULT_CLOUDFRONT_ACCOUNT,
  DEFAULT_DISTRIBUTION_ID,
  errorFault,
  startCloudFrontSimulator,
  THROTTLING_FAULT,
} from '../../src/simulator/cloudfront.ts';
import { runProviderContract } from './contract.ts';

const ACCOUNT = DEFAULT_CLOUDFRONT_ACCOUNT;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The project's client, with every request it sends kept: the SDK must send nothing past it. */
function countingHttp(): HttpClient & { sent: HttpRequest[] } {
  const inner = createHttpClient({
    connectTimeoutMs: 500,
    headersTimeoutMs: 1000,
    bodyTimeoutMs: 1000,
    totalTimeoutMs: 2000,
    maxResponseBytes: 1 << 20,
  });
  const sent: HttpRequest[] = [];
  return {
    sent,
    send(req) {
      sent.push(req);
      return inner.send(req);
    },
    close: () => inner.close(),
  };
}

async function rig(options: CloudFrontSimulatorOptions = {}) {
  const sim = await startCloudFrontSimulator({ invalidationDurationMs: 60_000, ...options });
  const http = countingHttp();
  const build = (entry: Record<string, unknown> = {}, account: Partial<AwsAccount> = {}): Provider =>
    createCloudFrontProvider(
      cloudfrontCdnSchema.parse({
        id: 'cf',
        provider: 'cloudfront',
        baseUrl: sim.url,
        distributionId: DEFAULT_DISTRIBUTION_ID,
        accessKeyId: account.accessKeyId ?? ACCOUNT.accessKeyId,
        secretAccessKey: account.secretAccessKey ?? ACCOUNT.secretAccessKey,
        ...(account.sessionToken ? { sessionToken: account.sessionToken } : {}),
        ...entry,
      }),
      { http },
    );
  const provider = build();
  const close = async () => {
    await provider.close();
    await http.close();
    await sim.close();
  };
  return { sim, http, provider, build, close };
}

async function setup(options: CloudFrontSimulatorOptions = {}) {
  const r = await rig(options);
  cleanups.push(r.close);
  return r;
}

async function rejection(promise: Promise<unknown>): Promise<PurgeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PurgeError);
  return error as PurgeError;
}

const submits = (sim: CloudFrontSimulator) => sim.requests.filter((r) => r.op === 'submit');

runProviderContract({
  name: 'CloudFront',
  start: async () => {
    const r = await rig();
    return {
      provider: r.provider,
      badCredentials: r.build({}, { secretAccessKey: 'not-the-secret-access-key-of-the-account' }),
      faults: r.sim.faults,
      finishTasks: () => r.sim.finish(),
      close: r.close,
    };
  },
  targets: {
    urls: { urls: ['https://www.example.com/a.jpg?v=2'], dirs: [] },
    dirs: { urls: [], dirs: ['https://www.example.com/news/'] },
    all: { urls: [], dirs: [], all: true },
  },
  refused: [
    { kind: 'pattern', target: { urls: [], dirs: [], pattern: '\\.jpg$' } },
    { kind: 'tags', target: { urls: [], dirs: [], tags: ['product-1'] } },
  ],
});

describe('CloudFront provider shape', () => {
  it('declares its kinds, per-call caps and the in-progress budget', async () => {
    const { provider, build } = await setup();
    expect(provider.name).toBe('cloudfront');
    expect([...provider.capabilities.kinds]).toEqual(['urls', 'dirs', 'all']);
    expect(provider.capabilities).toEqual({
      kinds: provider.capabilities.kinds,
      maxItemsPerCall: 3000,
      maxDirsPerCall: 15,
      inProgressLimit: { items: 3000, wildcards: 15, recheckMs: 60_000 },
    });
    expect(provider.quotaAccount).toBe(ACCOUNT.accessKeyId);
    const tagged = build({ cacheTags: true });
    expect([...tagged.capabilities.kinds]).toEqual(['urls', 'dirs', 'all', 'tags']);
    expect(() => provider.toBatches({ urls: [], dirs: [], pattern: 'x' })).toThrow(/cf \(cloudfront\)/);
  });
});

describe('CloudFront provider submit', () => {
  it('sends the paths (sorted, query kept, dirs as wildcards), signed, and polls it to Completed', async () => {
    const { sim, provider } = await setup();
    const { remoteId, requestId } = await provider.submit({
      urls: ['https://www.example.com/b.html', 'https://www.example.com/a.jpg?v=2&w=%C3%A9'],
      dirs: ['https://www.example.com/news/'],
    });
    expect(remoteId).toMatch(/^I[A-Z0-9]{13}$/);
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const [request] = submits(sim);
    expect(request).toMatchObject({
      authorized: true,
      method: 'POST',
      path: `/2020-05-31/distribution/${DEFAULT_DISTRIBUTION_ID}/invalidation`,
      body: {
        paths: ['/a.jpg?v=2&w=%C3%A9', '/b.html', '/news/*'],
        callerReference: expect.stringMatching(/^purge-worker:[0-9a-f]{40}:\d+$/),
      },
    });
    expect(await provider.status(remoteId)).toEqual({ state: 'running' });
    sim.finish(remoteId);
    expect(await provider.status(remoteId)).toEqual({ state: 'succeeded', progress: 100 });
  });

  it('sends every request through deps.http, and lets the SDK retry nothing', async () => {
    const { sim, http, provider } = await setup();
    sim.faults.inject('submit', { kind: 'status', status: 503 });
    await rejection(provider.submit({ urls: ['https://www.example.com/a'], dirs: [] }));
    const { remoteId } = await provider.submit({ urls: ['https://www.example.com/a'], dirs: [] });
    await provider.status(remoteId);
    await provider.check();
    expect(http.sent.map((r) => r.method)).toEqual(['POST', 'POST', 'GET', 'GET']);
    expect(sim.requests).toHaveLength(4);
    expect(http.sent[0]?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/\d{8}\/us-east-1\/cloudfront\/aws4_request/,
    );
  });

  it('gets the same invalidation back for a resubmit of the same batch (a retry after a lost answer)', async () => {
    const { sim, provider } = await setup();
    sim.faults.inject('submit', { kind: 'reset', afterAccept: true });
    const batch = { urls: ['https://www.example.com/a', 'https://www.example.com/b'], dirs: [] };
    const lost = await rejection(provider.submit(batch));
    expect([lost.code, lost.retryable]).toEqual(['CDN_NETWORK', true]);
    const { remoteId } = await provider.submit({ ...batch, urls: [...batch.urls].reverse() });
    expect(sim.invalidations.map((i) => i.id)).toEqual([remoteId]);
    expect(submits(sim)).toHaveLength(2);
  });

  it('makes a new invalidation when the one a reference names has already Completed', async () => {
    const { sim, provider } = await setup();
    const batch = { urls: ['https://www.example.com/index.html'], dirs: [] };
    const first = await provider.submit(batch);
    sim.finish(first.remoteId);
    const second = await provider.submit(batch);
    expect(second.remoteId).not.toBe(first.remoteId);
    expect(sim.invalidation(second.remoteId)?.status).toBe('InProgress');
    expect(submits(sim)).toHaveLength(3);
  });

  it("names each batch's invalidation by its submit key: a later batch of the same paths gets its own", async () => {
    const { sim, provider } = await setup();
    const batch = { urls: ['https://www.example.com/index.html'], dirs: [] };
    const first = await provider.submit(batch, undefined, { submitKey: 'cf-1:1796220000000' });
    // A second batch of the same URL, a moment later (a newer publish): the first's invalidation, still
    // running, started before this change and may have passed edges already, so it cannot stand for it.
    const later = await provider.submit(batch, undefined, { submitKey: 'cf-2:1796220000100' });
    expect(later.remoteId).not.toBe(first.remoteId);
    // The first batch resubmitted (its answer lost, or a crash before it was recorded): the same one back,
    // even once it has Completed, since that invalidation was made for this very batch.
    sim.finish(first.remoteId);
    const again = await provider.submit(batch, undefined, { submitKey: 'cf-1:1796220000000' });
    expect(again.remoteId).toBe(first.remoteId);
    expect(sim.invalidations).toHaveLength(2);
    expect(submits(sim).map((r) => (r.body as { callerReference: string }).callerReference)).toEqual([
      expect.stringMatching(/^purge-worker:[0-9a-f]{40}:cf-1:1796220000000$/),
      expect.stringMatching(/^purge-worker:[0-9a-f]{40}:cf-2:1796220000100$/),
      expect.stringMatching(/^purge-worker:[0-9a-f]{40}:cf-1:1796220000000$/),
    ]);
  });

  it('sends `all` as /* alone, and tags as #tag paths when the distribution has cache tags', async () => {
    const { sim, build } = await setup({
      distributions: [{ id: DEFAULT_DISTRIBUTION_ID, cacheTags: true }],
    });
    const provider = build({ cacheTags: true });
    await provider.submit({ urls: ['https://www.example.com/a'], dirs: [], all: true });
    await provider.submit({ urls: [], dirs: [], tags: ['Product-1', 'news'] });
    expect(sim.invalidations.map((i) => i.paths)).toEqual([['/*'], ['#Product-1', '#news']]);
  });
});

describe('CloudFront provider errors', () => {
  it('reads TooManyInvalidationsInProgress as CDN_BUSY, waiting busyRetryAfterMs', async () => {
    const { sim, build } = await setup();
    const provider = build({ busyRetryAfterMs: 45_000 });
    const dirs = Array.from({ length: 10 }, (_, i) => `https://www.example.com/d${i}/`);
    await provider.submit({ urls: [], dirs });
    const more = Array.from({ length: 6 }, (_, i) => `https://www.example.com/e${i}/`);
    const error = await rejection(provider.submit({ urls: [], dirs: more }));
    expect(error).toMatchObject({ code: 'CDN_BUSY', retryable: true, retryAfterMs: 45_000, httpStatus: 400 });
    expect(error.message).toContain('exceed the maximum number of in-progress invalidations');
    expect(sim.inProgress(DEFAULT_DISTRIBUTION_ID)).toEqual({ files: 0, wildcards: 10 });
    sim.finish();
    await provider.submit({ urls: [], dirs: more });
  });

  it('reads Throttling (a 400) as CDN_RATE_LIMITED, with its Retry-After or the configured wait', async () => {
    const { sim, build } = await setup({ createRate: { burst: 1, perSecond: 0.001 } });
    const provider = build({ throttleRetryAfterMs: 2500 });
    await provider.submit({ urls: ['https://www.example.com/a'], dirs: [] });
    const error = await rejection(provider.submit({ urls: ['https://www.example.com/b'], dirs: [] }));
    expect(error).toMatchObject({ code: 'CDN_RATE_LIMITED', retryable: true, retryAfterMs: 2500 });
    expect(error.message).toContain('Throttling (HTTP 400) — Rate exceeded');
    sim.faults.inject('submit', { ...THROTTLING_FAULT, retryAfter: '9' } as never);
    const withHeader = await rejection(provider.submit({ urls: ['https://www.example.com/c'], dirs: [] }));
    expect(withHeader).toMatchObject({ code: 'CDN_RATE_LIMITED', retryAfterMs: 9000 });
  });

  it('reads a wrong secret, an unknown key and a missing session token as CDN_AUTH', async () => {
    const withToken = {
      accessKeyId: 'ASIAEXAMPLETEMPKEY01',
      secretAccessKey: 'temp-secret',
      sessionToken: 'tok-1',
    };
    const { build } = await setup({ accounts: [ACCOUNT, withToken] });
    const batch = { urls: ['https://www.example.com/a'], dirs: [] };
    const cases: Array<[Partial<AwsAccount>, string]> = [
      [{ secretAccessKey: 'wrong-secret' }, 'SignatureDoesNotMatch'],
      [{ accessKeyId: 'AKIAUNKNOWNKEY000000' }, 'InvalidClientTokenId'],
      [
        { accessKeyId: withToken.accessKeyId, secretAccessKey: withToken.secretAccessKey },
        'InvalidClientTokenId',
      ],
    ];
    for (const [account, name] of cases) {
      const error = await rejection(build({}, account).submit(batch));
      expect(error).toMatchObject({ code: 'CDN_AUTH', retryable: false, httpStatus: 403 });
      expect(error.message).toContain(name);
      expect(error.message).not.toContain(account.secretAccessKey ?? ACCOUNT.secretAccessKey);
    }
    await build({}, withToken).submit(batch);
  });

  it('reads AccessDenied as CDN_AUTH and NoSuchDistribution as a permanent refusal', async () => {
    const limited = { ...ACCOUNT, accessKeyId: 'AKIALIMITEDKEY000000', distributions: ['EOTHER'] };
    const { build } = await setup({ accounts: [ACCOUNT, limited] });
    const batch = { urls: ['https://www.example.com/a'], dirs: [] };
    const denied = await rejection(build({}, limited).submit(batch));
    expect(denied).toMatchObject({ code: 'CDN_AUTH', retryable: false });
    expect(denied.message).toContain('AccessDenied');
    const missing = await rejection(build({ distributionId: 'ENOSUCHDIST' }).submit(batch));
    expect(missing).toMatchObject({ code: 'CDN_REJECTED', retryable: false, httpStatus: 404 });
    expect(missing.message).toContain('NoSuchDistribution');
    expect(await build({ distributionId: 'ENOSUCHDIST' }).check()).toMatchObject({ ok: false });
  });

  it('reads BatchTooLarge and a proxy page as what they are', async () => {
    const { sim, provider } = await setup({ maxPathsPerRequest: 2 });
    const batch = {
      urls: ['https://www.example.com/a', 'https://www.example.com/b', 'https://www.example.com/c'],
      dirs: [],
    };
    const tooLarge = await rejection(provider.submit(batch));
    expect(tooLarge).toMatchObject({ code: 'CDN_REJECTED', retryable: false, httpStatus: 413 });
    sim.faults.inject('submit', { kind: 'html', status: 502 });
    const proxy = await rejection(provider.submit({ urls: ['https://www.example.com/a'], dirs: [] }));
    expect(proxy).toMatchObject({ code: 'CDN_UNAVAILABLE', retryable: true, httpStatus: 502 });
    expect(proxy.message).toBe('CloudFront CreateInvalidation: (HTTP 502) — 502 Error 502 Error nginx');
    sim.faults.inject(
      'status',
      errorFault(503, 'ServiceUnavailable', 'CloudFront encountered an internal error.'),
    );
    await expect(provider.status('IXYZ')).rejects.toMatchObject({ code: 'CDN_UNAVAILABLE', retryable: true });
  });

  it('splits big targets so no batch exceeds 3,000 paths or 15 wildcards', async () => {
    const { provider } = await setup();
    const target: PurgeTarget = {
      urls: Array.from({ length: 3500 }, (_, i) => `https://www.example.com/f${i}`),
      dirs: Array.from({ length: 20 }, (_, i) => `https://www.example.com/d${i}/`),
    };
    const batches = provider.toBatches(target);
    expect(batches.map((b) => [b.urls.length, b.dirs.length])).toEqual([
      [3000, 0],
      [500, 15],
      [0, 5],
    ]);
  });
});
