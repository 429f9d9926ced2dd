import type { LookupAddress } from 'node:dns';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.ts';
import type { HostLookup } from '../../src/net/address-guard.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { API_TOKEN, startTestApi, type TestApi } from '../harness/api.ts';
import { QUANTIL_RIG, VIMS_RIG } from '../harness/cdn-rigs.ts';
import { rawUrl, urlTail } from './arbitraries.ts';

/**
 * Whatever a client sends to POST /v1/purges, the API answers 202 or a 4xx carrying one of our error codes:
 * never a 500, never a crash, never a promise nobody handles. Through the real Fastify app and a real Redis,
 * with both providers configured so kind, quota and routing refusals are all reachable.
 */

/**
 * callbackUrl hosts resolve from data (never real DNS), each name always the same way: to a public or a
 * private address, to nothing, or not at all. Nothing is dialled: no worker runs.
 */
const ANSWERS: Array<() => Promise<readonly LookupAddress[]>> = [
  async () => [{ address: '93.184.215.14', family: 4 }],
  async () => [{ address: '10.0.0.7', family: 4 }],
  async () => [],
  async () => {
    throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
  },
];
const lookup: HostLookup = (hostname) => {
  let hash = 0;
  for (const char of hostname) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return (ANSWERS[hash % ANSWERS.length] as () => Promise<readonly LookupAddress[]>)();
};

const CODES = new Set(Object.keys(ERROR_CODES));
const auth = { authorization: `Bearer ${API_TOKEN}` };

/** A value of any JSON type, for a field that expects one particular type. */
const anyJson = fc.jsonValue({ maxDepth: 2 });

const targetUrls = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: rawUrl },
    { weight: 2, arbitrary: urlTail.map((tail) => `https://www.example.com/${tail}`) },
    { weight: 1, arbitrary: anyJson },
  ),
  { maxLength: 6 },
);

/** Regex-ish text: valid patterns, invalid ones, and ones too long for any CDN. */
const regexLike = fc.oneof(
  fc.constantFrom('jpg', '\\.css$', '([a-', '(a+)+$', '', '*', '^/news/', '[', '\\', '(?<n>x)', '\\k<n>'),
  fc.array(fc.constantFrom(...'()[]{}*+?|^$\\.-:<>=!a1/'), { maxLength: 12 }).map((chars) => chars.join('')),
  fc.string({ minLength: 1000, maxLength: 1100 }),
);

/** Purge-shaped bodies: the known fields, each sometimes well-typed, sometimes anything at all. */
const purgeShaped = fc.record(
  {
    urls: fc.oneof({ weight: 4, arbitrary: targetUrls }, { weight: 1, arbitrary: anyJson }),
    dirs: fc.oneof({ weight: 2, arbitrary: targetUrls }, { weight: 1, arbitrary: anyJson }),
    pattern: fc.oneof(regexLike, anyJson),
    all: fc.oneof(fc.boolean(), anyJson),
    cdns: fc.oneof(
      fc.subarray(['vims-main', 'quantil-main', 'akamai', '', '__proto__']),
      fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
      anyJson,
    ),
    idempotencyKey: fc.oneof(fc.string({ maxLength: 300 }), anyJson),
    callbackUrl: fc.oneof(rawUrl, anyJson),
  },
  { requiredKeys: [] },
);

/** Purges a careful client would send, give or take a field: these reach Redis and are accepted. */
const plausible = fc.oneof(
  fc.record(
    {
      urls: fc.array(
        urlTail.map((tail) => `https://www.example.com/${tail}`),
        { minLength: 1, maxLength: 4 },
      ),
      dirs: fc.array(
        urlTail.map((tail) => `https://img.example.com/${tail}`),
        { maxLength: 2 },
      ),
      cdns: fc.subarray(['vims-main', 'quantil-main'], { minLength: 1 }),
      idempotencyKey: fc.string({ minLength: 1, maxLength: 20 }),
      callbackUrl: fc.constantFrom('https://cms.example.net/done', 'http://10.0.0.7/cb', 'https://[::1]/'),
    },
    { requiredKeys: ['urls'] },
  ),
  fc.record(
    { pattern: regexLike, cdns: fc.subarray(['vims-main', 'quantil-main']) },
    { requiredKeys: ['pattern'] },
  ),
  fc.record(
    { all: fc.boolean(), cdns: fc.subarray(['vims-main', 'quantil-main']) },
    { requiredKeys: ['all'] },
  ),
);

interface Attempt {
  payload: string | Buffer;
  headers: Record<string, string>;
}

const jsonOf = (value: unknown) => JSON.stringify(value) ?? 'null';

/** A purge-shaped object with a key it must not have, some that pollute prototypes where JSON is merged carelessly. */
const polluting = fc
  .tuple(fc.constantFrom('__proto__', 'constructor', 'prototype', 'force'), anyJson, purgeShaped)
  .map(([key, value, rest]) => {
    const others = jsonOf(rest).slice(1);
    return `{${JSON.stringify(key)}:${jsonOf(value)}${others === '}' ? '' : ','}${others}`;
  });

const jsonBody = fc.oneof(
  { weight: 4, arbitrary: purgeShaped.map(jsonOf) },
  { weight: 3, arbitrary: plausible.map(jsonOf) },
  { weight: 2, arbitrary: anyJson.map(jsonOf) },
  { weight: 1, arbitrary: polluting },
);

/** Bodies that are not JSON, or barely: text, cut-off JSON, raw bytes, a byte-order mark. */
const nonJsonBody = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  jsonBody.chain((json) => fc.nat({ max: json.length }).map((cut) => json.slice(0, cut))),
  jsonBody.map((json) => `\ufeff${json}`),
  fc.uint8Array({ maxLength: 60 }).map((bytes) => Buffer.from(bytes)),
  fc.constantFrom('', 'null', '[]', '"urls"', '{"urls":', '{"__proto__":{"urls":["x"]}}', '1e999'),
);

const contentType = fc.oneof(
  { weight: 12, arbitrary: fc.constant('application/json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'Application/JSON',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonx',
      '',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 20 }).map(printable) },
);

const authorization = fc.oneof(
  { weight: 12, arbitrary: fc.constant(auth.authorization) },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.constantFrom('', 'Bearer', 'Bearer ', `bearer ${API_TOKEN}`, `Bearer  ${API_TOKEN} `, API_TOKEN),
      fc.string({ unit: 'binary-ascii', maxLength: 40 }).map((text) => `Bearer ${printable(text)}`),
    ),
  },
);

const idempotencyHeader = fc.oneof(
  { weight: 6, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 40 }).map(printable) },
);

const attempt: fc.Arbitrary<Attempt> = fc
  .tuple(
    fc.oneof({ weight: 4, arbitrary: jsonBody }, { weight: 1, arbitrary: nonJsonBody }),
    contentType,
    authorization,
    idempotencyHeader,
  )
  .map(([payload, type, authHeader, key]) => ({
    payload,
    headers: {
      ...(type === '' ? {} : { 'content-type': type }),
      ...(authHeader === '' ? {} : { authorization: authHeader }),
      ...(key === null ? {} : { 'idempotency-key': key }),
    },
  }));

/** Header values as a socket could carry them: printable ASCII only (Node refuses the rest before us). */
function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '');
}

describe('POST /v1/purges, fuzzed', () => {
  let simulator: Simulator;
  let api: TestApi;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    simulator = await startSimulator({
      ...VIMS_RIG.simulatorOptions({ taskDurationMs: 1000 }),
      ...QUANTIL_RIG.simulatorOptions({ taskDurationMs: 1000 }),
    });
    api = await startTestApi(
      simulator.url,
      {
        cdns: [VIMS_RIG.cdnEntry(simulator.url), QUANTIL_RIG.cdnEntry(simulator.url)],
        routes: [
          { hosts: ['www.example.com'], cdns: ['vims-main', 'quantil-main'] },
          { hosts: ['*.example.com'], cdns: ['vims-main'] },
        ],
      },
      { lookup },
    );
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    expect(unhandled).toEqual([]);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await api?.close();
    await simulator?.close();
  });

  it('answers every request with 202, or a 4xx whose error is one of ours, and keeps serving', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(attempt, async ({ payload, headers }) => {
        const response = await api.app.inject({ method: 'POST', url: '/v1/purges', headers, payload });
        const body = response.json<Record<string, unknown>>();
        if (response.statusCode === 202) {
          expect(body).toMatchObject({ id: expect.any(String), cdns: expect.any(Array) });
          seen.add('202');
          return;
        }
        expect(response.statusCode, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
        expect(response.statusCode, JSON.stringify(body)).toBeLessThan(500);
        expect(CODES, JSON.stringify(body)).toContain(body.error);
        expect(body.message).toEqual(expect.any(String));
        seen.add(String(body.error));
      }),
      { numRuns: 1000 },
    );
    // The generators reach past the first refusals: acceptances and the deeper checks both happen.
    expect(seen).toContain('202');
    expect(seen).toContain('REQUEST_INVALID');
    expect(seen).toContain('INVALID_JSON');
    expect((await api.app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });
});
