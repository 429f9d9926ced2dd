import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { XMLParser } from 'fast-xml-parser';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AwsAccount,
  type CloudFrontSimulatorOptions,
  DEFAULT_CLOUDFRONT_ACCOUNT,
  DEFAULT_DISTRIBUTION_ID,
  startCloudFrontSimulator,
} from '../../src/simulator/cloudfront.ts';

const ACCOUNT = DEFAULT_CLOUDFRONT_ACCOUNT;
const DIST = DEFAULT_DISTRIBUTION_ID;
const BASE = `/2020-05-31/distribution/${DIST}/invalidation`;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** node:crypto in the shape the SDK's signer takes: the signer, not the simulator, is what is borrowed. */
class Sha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData) {
    this.hash.update(bytes(data));
  }
  async digest() {
    return new Uint8Array(this.hash.digest());
  }
  reset() {}
}

type SourceData = string | ArrayBuffer | ArrayBufferView;
function bytes(data: SourceData): string | Buffer {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

interface Call {
  method?: 'GET' | 'POST';
  path?: string;
  query?: Record<string, string>;
  body?: string;
  account?: Partial<AwsAccount>;
  region?: string;
  date?: Date;
  /** Changes the body after signing. */
  tamper?: (body: string) => string;
  unsigned?: boolean;
}

async function setup(options: CloudFrontSimulatorOptions = {}) {
  const sim = await startCloudFrontSimulator(options);
  cleanups.push(() => sim.close());
  const { host } = new URL(sim.url);

  /** Signs with the SDK's own SigV4 signer (an independent implementation) and sends with fetch. */
  async function call(c: Call = {}) {
    const method = c.method ?? 'POST';
    const body = c.body ?? (method === 'POST' ? batchXml(['/a.html']) : undefined);
    const request = {
      method,
      protocol: 'http:',
      hostname: host.split(':')[0] as string,
      port: Number(host.split(':')[1]),
      path: c.path ?? BASE,
      query: c.query ?? {},
      headers: { host, ...(body === undefined ? {} : { 'content-type': 'application/xml' }) },
      ...(body === undefined ? {} : { body }),
    };
    const signer = new SignatureV4({
      credentials: {
        accessKeyId: c.account?.accessKeyId ?? ACCOUNT.accessKeyId,
        secretAccessKey: c.account?.secretAccessKey ?? ACCOUNT.secretAccessKey,
        ...(c.account?.sessionToken ? { sessionToken: c.account.sessionToken } : {}),
      },
      region: c.region ?? 'us-east-1',
      service: 'cloudfront',
      sha256: Sha256,
    });
    const signed = c.unsigned ? request : await signer.sign(request, c.date ? { signingDate: c.date } : {});
    const query = new URLSearchParams(c.query ?? {}).toString();
    const headers = { ...(signed.headers as Record<string, string>) };
    delete headers.host;
    const response = await fetch(`${sim.url}${request.path}${query ? `?${query}` : ''}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: c.tamper ? c.tamper(body) : body }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, doc: parse(text) };
  }
  return { sim, call };
}

const parser = new XMLParser({ ignoreAttributes: false, parseTagValue: false, isArray: (n) => n === 'Path' });
// biome-ignore lint/suspicious/noExplicitAny: parsed XML, walked by the assertions that read it
type Xml = any;
const parse = (text: string): Xml => (text ? parser.parse(text) : {});

function batchXml(paths: string[], reference = 'ref-1', quantity = paths.length): string {
  const items = paths.length === 0 ? '' : `<Items>${paths.map((p) => `<Path>${p}</Path>`).join('')}</Items>`;
  return `<?xml version="1.0" encoding="UTF-8"?><InvalidationBatch xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Paths><Quantity>${quantity}</Quantity>${items}</Paths><CallerReference>${reference}</CallerReference></InvalidationBatch>`;
}

const errorOf = (r: { status: number; doc: Xml }) => ({
  status: r.status,
  type: r.doc.ErrorResponse?.Error?.Type,
  code: r.doc.ErrorResponse?.Error?.Code,
});

describe('CloudFront simulator SigV4', () => {
  it('accepts a request the SDK signer signed, answering 201 with Location and the Invalidation', async () => {
    const { sim, call } = await setup();
    const r = await call({ body: batchXml(['/a.html', '/img/*'], 'ref-ok') });
    expect(r.status).toBe(201);
    const invalidation = r.doc.Invalidation;
    expect(invalidation).toMatchObject({
      '@_xmlns': 'http://cloudfront.amazonaws.com/doc/2020-05-31/',
      Status: 'InProgress',
      InvalidationBatch: {
        Paths: { Quantity: '2', Items: { Path: ['/a.html', '/img/*'] } },
        CallerReference: 'ref-ok',
      },
    });
    expect(invalidation.Id).toMatch(/^I[A-Z0-9]{13}$/);
    expect(r.headers.get('location')).toBe(`${sim.url}${BASE}/${invalidation.Id}`);
    expect(r.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(sim.requests.at(-1)).toMatchObject({ op: 'submit', authorized: true });
  });

  it('refuses a wrong secret, an unknown key, a changed body, a missing signature, another region and a stale date', async () => {
    const { sim, call } = await setup();
    expect(errorOf(await call({ account: { secretAccessKey: 'wrong' } }))).toEqual({
      status: 403,
      type: 'Sender',
      code: 'SignatureDoesNotMatch',
    });
    expect(errorOf(await call({ account: { accessKeyId: 'AKIAUNKNOWNKEY000000' } })).code).toBe(
      'InvalidClientTokenId',
    );
    expect(errorOf(await call({ tamper: (b) => b.replace('/a.html', '/b.html') })).code).toBe(
      'SignatureDoesNotMatch',
    );
    expect(errorOf(await call({ unsigned: true }))).toMatchObject({
      status: 403,
      code: 'MissingAuthenticationToken',
    });
    expect(errorOf(await call({ region: 'eu-west-1' })).code).toBe('SignatureDoesNotMatch');
    expect(errorOf(await call({ date: new Date(Date.now() - 20 * 60_000) })).code).toBe(
      'SignatureDoesNotMatch',
    );
    expect(sim.invalidations).toEqual([]);
    expect(sim.requests.every((r) => !r.authorized)).toBe(true);
  });

  it('verifies a signed query string and a session token', async () => {
    const temp = { accessKeyId: 'ASIATEMPORARYKEY0001', secretAccessKey: 'temp', sessionToken: 'session-1' };
    const { call } = await setup({ accounts: [ACCOUNT, temp] });
    const list = await call({ method: 'GET', query: { MaxItems: '5', Marker: '' } });
    expect(list.status).toBe(200);
    expect(list.doc.InvalidationList).toMatchObject({ MaxItems: '5', IsTruncated: 'false', Quantity: '0' });
    expect((await call({ account: temp })).status).toBe(201);
    expect(errorOf(await call({ account: { ...temp, sessionToken: 'other' } })).code).toBe(
      'InvalidClientTokenId',
    );
  });
});

describe('CloudFront simulator invalidations', () => {
  it('validates the batch: Quantity, leading /, * only last, a body at all', async () => {
    const { call } = await setup();
    expect(errorOf(await call({ body: batchXml(['/a', '/b'], 'r', 3) })).code).toBe('InconsistentQuantities');
    expect(errorOf(await call({ body: batchXml(['a.html']) })).code).toBe('InvalidArgument');
    expect(errorOf(await call({ body: batchXml(['/a*b']) })).code).toBe('InvalidArgument');
    expect(errorOf(await call({ body: batchXml(['#tag']) })).code).toBe('InvalidArgument');
    expect(errorOf(await call({ body: batchXml([], 'r', 0) })).code).toBe('InvalidArgument');
    expect(errorOf(await call({ body: '' }))).toMatchObject({ status: 400, code: 'MissingBody' });
  });

  it('returns the same invalidation for the same reference and paths, refuses other paths under it', async () => {
    const { sim, call } = await setup();
    const first = await call({ body: batchXml(['/a'], 'same') });
    const again = await call({ body: batchXml(['/a'], 'same') });
    expect(again.status).toBe(201);
    expect(again.doc.Invalidation.Id).toBe(first.doc.Invalidation.Id);
    expect(errorOf(await call({ body: batchXml(['/b'], 'same') }))).toMatchObject({
      status: 400,
      code: 'InvalidationBatchAlreadyExists',
    });
    expect(sim.invalidations).toHaveLength(1);
  });

  it('goes InProgress -> Completed after its duration, or when a test finishes it', async () => {
    const clock = { now: Date.now() };
    const { sim, call } = await setup({ now: () => clock.now, invalidationDurationMs: 10_000 });
    const id = (await call({ body: batchXml(['/a'], 'a') })).doc.Invalidation.Id as string;
    const other = (await call({ body: batchXml(['/b'], 'b') })).doc.Invalidation.Id as string;
    const status = async (which: string) =>
      (await call({ method: 'GET', path: `${BASE}/${which}` })).doc.Invalidation.Status;
    expect(await status(id)).toBe('InProgress');
    sim.finish(other);
    expect(await status(other)).toBe('Completed');
    expect(await status(id)).toBe('InProgress');
    clock.now += 10_000;
    expect(await status(id)).toBe('Completed');
    expect(errorOf(await call({ method: 'GET', path: `${BASE}/INOSUCHID` }))).toMatchObject({
      status: 404,
      code: 'NoSuchInvalidation',
    });
    expect(errorOf(await call({ path: '/2020-05-31/distribution/ENOSUCH/invalidation' }))).toMatchObject({
      status: 404,
      code: 'NoSuchDistribution',
    });
    expect(sim.requests.map((r) => r.op)).toEqual([
      'submit',
      'submit',
      'status',
      'status',
      'status',
      'status',
      'status',
      'submit',
    ]);
  });

  it('keeps 3,000 file paths and 15 wildcards in progress per distribution', async () => {
    const { sim, call } = await setup({ distributions: [{ id: DIST }, { id: 'EOTHERDIST' }] });
    const files = Array.from({ length: 3000 }, (_, i) => `/f${i}`);
    expect((await call({ body: batchXml(files, 'files') })).status).toBe(201);
    const over = await call({ body: batchXml(['/one-more'], 'one-more') });
    expect(errorOf(over)).toEqual({ status: 400, type: 'Sender', code: 'TooManyInvalidationsInProgress' });
    expect(over.doc.ErrorResponse.Error.Message).toBe(
      'Processing your request will cause you to exceed the maximum number of in-progress invalidations.',
    );
    // Wildcards have a budget of their own, and another distribution its own budgets.
    const wild = Array.from({ length: 15 }, (_, i) => `/d${i}/*`);
    expect((await call({ body: batchXml(wild, 'wild') })).status).toBe(201);
    expect(errorOf(await call({ body: batchXml(['/x/*'], 'x') })).code).toBe(
      'TooManyInvalidationsInProgress',
    );
    expect(sim.inProgress(DIST)).toEqual({ files: 3000, wildcards: 15 });
    expect(
      (
        await call({
          path: '/2020-05-31/distribution/EOTHERDIST/invalidation',
          body: batchXml(['/x/*'], 'x'),
        })
      ).status,
    ).toBe(201);
    expect(sim.refusals.map((r) => [r.op, r.status, r.code])).toEqual([
      ['submit', 400, 'TooManyInvalidationsInProgress'],
      ['submit', 400, 'TooManyInvalidationsInProgress'],
    ]);
    sim.finish();
    expect((await call({ body: batchXml(['/one-more'], 'one-more') })).status).toBe(201);
  });

  it('answers BatchTooLarge (413) over the per-request cap, Throttling (400) over the create rate', async () => {
    const clock = { now: Date.now() };
    const { call } = await setup({
      maxPathsPerRequest: 2,
      createRate: { burst: 2, perSecond: 0.5 },
      now: () => clock.now,
    });
    expect(errorOf(await call({ body: batchXml(['/a', '/b', '/c'], 'big') }))).toMatchObject({
      status: 413,
      code: 'BatchTooLarge',
    });
    expect((await call({ body: batchXml(['/a'], 'a') })).status).toBe(201);
    const throttled = await call({ body: batchXml(['/b'], 'b') });
    expect(errorOf(throttled)).toMatchObject({ status: 400, code: 'Throttling' });
    expect(throttled.doc.ErrorResponse.Error.Message).toBe('Rate exceeded');
    clock.now += 2_000;
    expect((await call({ body: batchXml(['/b'], 'b') })).status).toBe(201);
  });

  it('shapes answers with faults, and keeps the invalidation an after-accept fault lost the answer of', async () => {
    const { sim, call } = await setup();
    sim.faults.inject('submit', { kind: 'status', status: 500, afterAccept: true });
    expect((await call({ body: batchXml(['/lost'], 'lost') })).status).toBe(500);
    expect(sim.invalidations.map((i) => i.paths)).toEqual([['/lost']]);
    sim.faults.inject('status', { kind: 'status', status: 503 });
    expect((await call({ method: 'GET', path: `${BASE}/${sim.invalidations[0]?.id}` })).status).toBe(503);
  });
});
