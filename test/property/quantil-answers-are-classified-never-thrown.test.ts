import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quantilCdnSchema } from '../../src/config/schema.ts';
import { ERROR_CODES, PurgeError } from '../../src/errors.ts';
import { createHttpClient, type HttpClient, readAnswer } from '../../src/providers/http.ts';
import type { Provider, RemoteStatus } from '../../src/providers/provider.ts';
import { aggregateStatus } from '../../src/providers/quantil/mapping.ts';
import { createQuantilProvider, idFromLocation } from '../../src/providers/quantil/provider.ts';
import { parsePurgeIdFromXml, parseStatusXml } from '../../src/providers/quantil/xml.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';

/**
 * QUANTIL's answers come off the network: whatever a body holds (cut off, hostile, huge, the wrong shape, not
 * XML at all), reading it ends in a valid result or one of our error codes, never a stray exception, and
 * soon. Bounded on CPU time, far above what a linear read of 1 MiB takes, so a busy machine cannot fail it
 * and a parse that goes quadratic, or expands entities, cannot pass it.
 */
const CPU_BUDGET_MS = 1_000;

function cpuMs<T>(run: () => T): { value: T; ms: number } {
  const start = process.cpuUsage();
  const value = run();
  const used = process.cpuUsage(start);
  return { value, ms: (used.user + used.system) / 1000 };
}

const STATES = new Set(['pending', 'running', 'succeeded', 'failed']);
const CODES = new Set(Object.keys(ERROR_CODES));

function expectValidStatus(status: RemoteStatus): void {
  expect(STATES).toContain(status.state);
  if (status.progress !== undefined) {
    expect(Number.isFinite(status.progress)).toBe(true);
    expect(status.progress).toBeGreaterThanOrEqual(0);
    expect(status.progress).toBeLessThanOrEqual(100);
  }
  if (status.state === 'failed') expect(status.reason).toEqual(expect.any(String));
}

function expectOurError(error: unknown): void {
  expect(error, String(error)).toBeInstanceOf(PurgeError);
  const { code, retryable } = error as PurgeError;
  expect(CODES).toContain(code);
  expect(typeof retryable).toBe('boolean');
}

// Hostile bodies, from the valid shape outward. ------------------------------------------------------------

const itemStatus = fc.constantFrom('wait', 'run', 'success', 'failure', 'Success', 'FAILURE', '', 'weird');
const item = fc.record({
  path: fc.oneof(fc.webUrl(), fc.string({ maxLength: 20 })),
  status: itemStatus,
  rate: fc.oneof(fc.constantFrom('100.0', '0', '-5', '1e400', 'NaN', ''), fc.double().map(String)),
  isdir: fc.constantFrom('Y', 'N', ''),
});
const escapeText = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const statusDocument = fc
  .array(item, { maxLength: 5 })
  .map(
    (items) =>
      `<?xml version="1.0" encoding="UTF-8"?><purge-result><request-date>Thu, 07 Aug 2014 18:46:21 GMT</request-date>${items
        .map(
          (it) =>
            `<item><path>${escapeText(it.path)}</path><status>${it.status}</status><rate>${escapeText(it.rate)}</rate><isdir>${it.isdir}</isdir></item>`,
        )
        .join('')}</purge-result>`,
  );

/** XML's attacks: entity bombs, external entities, and the spellings a filter might miss. */
const entityAttack = fc.constantFrom(
  `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;"><!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">]><purge-result><item><path>&i;</path><status>success</status></item></purge-result>`,
  '<!DOCTYPE purge-result SYSTEM "file:///etc/passwd"><purge-result><item><path>&xxe;</path></item></purge-result>',
  '<!doctype purge-result [<!entity x "y">]><purge-result/>',
  '<!DOCTYPE\n purge-result [\n<!ENTITY % p "x">%p;]><purge-result/>',
  '<purge-result><item><path>&xxe;&lt;&#0;&#x110000;&#55296;&#65535;&bogus;&amp</path><status>run</status></item></purge-result>',
  '<purge-result><![CDATA[<!ENTITY x "y">]]><item><path><![CDATA[a<b]]></path></item></purge-result>',
  '<?xml-stylesheet href="x"?><!-- <!ENTITY --><purge-result><?pi x?><item/></purge-result>',
);

/** The right words in the wrong places: repeated, nested, attributed, namespaced, prototype-named. */
const wrongShape = fc.constantFrom(
  '<purge-result>just text</purge-result>',
  '<purge-result><item>text</item><item/><item><path/></item></purge-result>',
  '<purge-result><item><path><a>1</a></path><status><b/></status><rate>x</rate></item></purge-result>',
  '<purge-result><item><status>success</status><status>failure</status></item></purge-result>',
  '<purge-result><request-date><x/></request-date><request-date>y</request-date></purge-result>',
  '<purge-result status="success"><item path="x" status="success"/></purge-result>',
  '<q:purge-result xmlns:q="urn:x"><q:item><q:status>success</q:status></q:item></q:purge-result>',
  '<purge-result><__proto__><polluted>1</polluted></__proto__></purge-result>',
  '<purge-result><item><constructor><prototype>x</prototype></constructor></item></purge-result>',
  '<purge-result><hasOwnProperty>1</hasOwnProperty><toString>2</toString><item><valueOf/></item></purge-result>',
  '<purge-result><item><__proto__>x</__proto__><status>run</status></item></purge-result>',
  '<purge-result/><purge-result/>',
  '<purge-list><Purge-request><purge-id>x</purge-id></Purge-request></purge-list>',
  '\ufeff<?xml version="1.0"?><purge-result/>',
);

const notXml = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '{"status":"ok"}',
    '<html><body>502 Bad Gateway</body></html>',
    'Service Unavailable',
  ),
  fc.jsonValue().map((value) => JSON.stringify(value) ?? ''),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

/** Deep nesting, of any tag, to any depth up to what 1 MiB holds. */
const deep = fc
  .tuple(fc.constantFrom('a', 'item', 'purge-result', 'path'), fc.integer({ min: 50, max: 60_000 }))
  .map(
    ([tag, depth]) => `<purge-result>${`<${tag}>`.repeat(depth)}x${`</${tag}>`.repeat(depth)}</purge-result>`,
  );

// Made once: 10 MB of the text most likely to cost something, past every cap.
const HUGE = [
  `<purge-result>${'<item><path>x</path></item>'.repeat(400_000)}</purge-result>`,
  '<'.repeat(10_000_000),
  `<purge-result><item><path>${'&amp;'.repeat(2_000_000)}</path></item></purge-result>`,
  `${'3315965a-41fc-4c72-a8ff-'.repeat(420_000)}`,
];
const huge = fc.constantFrom(...HUGE);

const hostileBase = fc.oneof(
  { weight: 4, arbitrary: statusDocument },
  { weight: 2, arbitrary: entityAttack },
  { weight: 2, arbitrary: wrongShape },
  { weight: 2, arbitrary: notXml },
  { weight: 1, arbitrary: deep },
);

/** Any of the above, whole, cut off anywhere, or with noise spliced in anywhere. */
const body = fc.oneof(
  { weight: 4, arbitrary: hostileBase },
  {
    weight: 3,
    arbitrary: hostileBase.chain((text) => fc.nat({ max: text.length }).map((cut) => text.slice(0, cut))),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        hostileBase,
        fc.nat(),
        fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('<', '&', ']]>', '</item>', '<!ENTITY')),
      )
      .map(([text, at, noise]) => {
        const cut = at % (text.length + 1);
        return `${text.slice(0, cut)}${noise}${text.slice(cut)}`;
      }),
  },
  { weight: 1, arbitrary: huge },
);

/** The status path, exactly as the provider reads a 2xx answer. */
function readStatus(text: string): RemoteStatus {
  return readAnswer('QUANTIL purge p-1', () => aggregateStatus(parseStatusXml(text).items));
}

describe('QUANTIL answer parsing (property)', () => {
  it('a status body reads as a valid status or one of our errors, within a CPU budget', () => {
    fc.assert(
      fc.property(body, (text) => {
        const { value, ms } = cpuMs(() => {
          try {
            return { status: readStatus(text) };
          } catch (error) {
            return { error };
          }
        });
        expect(ms).toBeLessThan(CPU_BUDGET_MS);
        if ('error' in value) expectOurError(value.error);
        else expectValidStatus(value.status);
      }),
      { numRuns: 600 },
    );
    expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('polluted');
  });

  it('a well-formed status document always reads as a status, never an error', () => {
    fc.assert(
      fc.property(statusDocument, (text) => {
        expectValidStatus(readStatus(text));
      }),
      { numRuns: 500 },
    );
  });

  it('a create answer yields a usable purge id or none, never throws, within a CPU budget', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          body,
          fc.uuid().map((id) => `<purge-result><purge-id>${id}</purge-id></purge-result>`),
          fc
            .string({ maxLength: 300 })
            .map((id) => `<r><purge-id>${escapeText(id)}</purge-id><id>${escapeText(id)}</id></r>`),
        ),
        (text) => {
          const { value: id, ms } = cpuMs(() => parsePurgeIdFromXml(text));
          expect(ms).toBeLessThan(CPU_BUDGET_MS);
          if (id === undefined) return;
          expect(id).toEqual(expect.any(String));
          expect(id.trim()).toBe(id);
          expect(id).not.toBe('');
          expect(id.length).toBeLessThanOrEqual(200);
          expect(id).not.toMatch(/\s/);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a Location header yields a purge id or none, and never throws', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.webUrl(),
          fc.string().map((tail) => `/api/purge/${tail}`),
          fc.string().map((tail) => `https://api.quantil.com/api/purge/${tail}`),
          fc.constantFrom(
            '/api/purge/%',
            '/api/purge/%E0%A4%A',
            '//x/api/purge/a',
            'http://[::1',
            '/api/purge/%20',
          ),
        ),
        (location) => {
          const id = idFromLocation(location, 'https://api.quantil.com');
          if (id !== undefined) expect(id.trim()).not.toBe('');
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('QUANTIL answers over HTTP (property)', () => {
  const ACCOUNT = { user: 'fuzz', apiKey: 'fuzz-api-key-0123456789' };
  let simulator: Simulator;
  let http: HttpClient;
  let provider: Provider;

  beforeAll(async () => {
    simulator = await startSimulator({ quantil: { accounts: [ACCOUNT] } });
    http = createHttpClient({
      connectTimeoutMs: 2_000,
      headersTimeoutMs: 5_000,
      bodyTimeoutMs: 5_000,
      totalTimeoutMs: 10_000,
      maxResponseBytes: 1024 * 1024,
    });
    const config = quantilCdnSchema.parse({
      id: 'q-fuzz',
      provider: 'quantil',
      baseUrl: simulator.url,
      ...ACCOUNT,
    });
    provider = createQuantilProvider(config, { http });
  });
  afterAll(async () => {
    await http?.close();
    await simulator?.close();
  });

  const answer = fc.record({
    status: fc.constantFrom(200, 201, 202, 204),
    contentType: fc.constantFrom(
      'application/xml',
      'text/html',
      'application/json',
      'text/xml; charset=iso-8859-1',
    ),
    body,
  });

  it('a 2xx status answer of any body ends in a valid status or one of our errors', async () => {
    await fc.assert(
      fc.asyncProperty(answer, async ({ status, contentType, body: text }) => {
        simulator.quantil.faults.inject('status', { kind: 'status', status, body: text, contentType }, 1);
        const outcome = await provider.status('3315965a-41fc-4c72-a8ff-4c54e0a106f1').then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        );
        if ('error' in outcome) expectOurError(outcome.error);
        else expectValidStatus(outcome.value);
      }),
      { numRuns: 120 },
    );
  });

  it('a 2xx submit answer of any body ends in a purge id or one of our errors', async () => {
    await fc.assert(
      fc.asyncProperty(answer, async ({ status, contentType, body: text }) => {
        simulator.quantil.faults.inject('submit', { kind: 'status', status, body: text, contentType }, 1);
        const outcome = await provider.submit({ urls: ['http://www.example.com/a?x=1&y=2'], dirs: [] }).then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        );
        if ('error' in outcome) expectOurError(outcome.error);
        else expect(outcome.value.remoteId).toMatch(/^\S{1,200}$/);
      }),
      { numRuns: 120 },
    );
  });
});
