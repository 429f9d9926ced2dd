import { describe, expect, it, vi } from 'vitest';
import { isRedisFailure } from '../../src/api/errors.ts';
import { bearerToken } from '../../src/api/plugins/bearer-auth.ts';
import { verify } from '../../src/callbacks/signature.ts';
import { parseListQuery } from '../../src/model/list-query.ts';
import { purgeRequestSchema } from '../../src/model/purge.ts';
import { bodyExcerpt, errorForStatus } from '../../src/providers/http.ts';
import { idFromLocation } from '../../src/providers/quantil/provider.ts';
import { decodeXmlText, parsePurgeIdFromXml, parseStatusXml } from '../../src/providers/quantil/xml.ts';
import { parseRetryAfter } from '../../src/providers/retry-after.ts';
import { vimsSettingsSchema } from '../../src/providers/vims/config.ts';
import { escapeRegex, mapTaskState, toPurgeBody } from '../../src/providers/vims/mapping.ts';
import { createVimsProvider } from '../../src/providers/vims/provider.ts';

/**
 * Every regular expression (and the parsing around it) that sees CDN bodies, CDN headers or API input,
 * fed 1 MiB (the response cap, and the API's body limit) of the text most likely to make it backtrack.
 *
 * Linear is told from quadratic by cost ratio, on CPU time so the other processes' load does not count
 * (the process's: a thread's own is counted in 4 ms ticks on Linux): 16 times the input must cost under 64 times as much (linear is about 16, quadratic 256), each size
 * the fastest of three runs so one GC pause does not decide. A run under FLOOR_MS at 1 MiB passes whatever
 * its ratio: too fast to stall anything, and too short for a ratio to mean much.
 */
const KIB = 1024;
const SMALL = 64 * KIB;
const LARGE = 1024 * KIB;
const FLOOR_MS = 25;
const MAX_RATIO = 64;
/** CPU time one 1 MiB input may take at most, whatever the ratio: a worker's lock outlives it many times. */
const LARGE_BUDGET_MS = 250;
/** A 64 KiB input over this is already the stall: fail at once instead of waiting minutes on 1 MiB. */
const SMALL_BUDGET_MS = 100;

function cpuMs(run: () => void): number {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

function fastest(run: () => void): number {
  return Math.min(cpuMs(run), cpuMs(run), cpuMs(run));
}

/** Repeats `unit` up to exactly `size` characters. */
function repeatTo(unit: string, size: number): string {
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}

/** Runs `fn` and swallows what it throws: refusing hostile input is fine, taking long over it is not. */
function quietly(fn: () => unknown): void {
  try {
    fn();
  } catch {}
}

/** Measurements a verdict may take: a busy machine (the whole suite on two cores) can spoil one or two. */
const TRIES = 3;

function expectLinear(fn: (input: string) => unknown, make: (size: number) => string): void {
  const small = make(SMALL);
  const large = make(LARGE);
  const probe = cpuMs(() => quietly(() => fn(small)));
  expect(probe, `64 KiB took ${probe.toFixed(0)} ms of CPU`).toBeLessThan(SMALL_BUDGET_MS);
  let smallMs = 0;
  let largeMs = 0;
  // Quadratic work fails every try (by far); linear work passes at least one even on a loaded machine.
  for (let attempt = 0; attempt < TRIES; attempt++) {
    smallMs = fastest(() => quietly(() => fn(small)));
    largeMs = fastest(() => quietly(() => fn(large)));
    if (largeMs < LARGE_BUDGET_MS && largeMs <= Math.max(FLOOR_MS, MAX_RATIO * smallMs)) return;
  }
  const detail = `64 KiB: ${smallMs.toFixed(2)} ms, 1 MiB: ${largeMs.toFixed(2)} ms of CPU (${TRIES} tries)`;
  expect(largeMs, detail).toBeLessThan(LARGE_BUDGET_MS);
  expect(largeMs, detail).toBeLessThanOrEqual(Math.max(FLOOR_MS, MAX_RATIO * smallMs));
}

const repeated = (unit: string) => (size: number) => repeatTo(unit, size);
const within =
  (before: string, unit: string, after = '') =>
  (size: number) =>
    `${before}${repeatTo(unit, size - before.length - after.length)}${after}`;

describe('an excerpt of a CDN error body takes time linear in the body', () => {
  it.each([
    ['unclosed "<"s', repeated('<')],
    ['tag openings without an end', repeated('<a ')],
    ['whitespace runs', repeated(' \t\r\n')],
    ['"<" then whitespace', repeated('< \n')],
    ['one long tag', within('<', 'x', '>')],
  ])('%s', (_name, make) => {
    expectLinear((body) => bodyExcerpt(body), make);
  });

  it('still reads as text with the markup taken out', () => {
    const html = '<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1>\n timed out</body>';
    expect(bodyExcerpt(html)).toBe('502 Bad Gateway 502 timed out');
    expect(bodyExcerpt('quota: used < allowed')).toBe('quota: used < allowed');
    expect(bodyExcerpt(`<p>${'x'.repeat(300)}</p>`, 10)).toBe(`${'x'.repeat(10)}…`);
  });
});

describe('QUANTIL bodies and headers are read in linear time', () => {
  it.each([
    ['decimal references', repeated('&#1234567')],
    ['hex references', repeated('&#x12345')],
    ['unterminated named references', repeated('&amp')],
    ['bare ampersands', repeated('&')],
  ])('text decoding: %s', (_name, make) => {
    expectLinear(decodeXmlText, make);
  });

  it.each([
    ['unclosed "<"s', repeated('<')],
    ['"<!"s', repeated('<!')],
    ['almost a DOCTYPE', repeated('<!DOCTYP')],
    ['CDATA openings', repeated('<![CDATA[')],
    ['comment openings', repeated('<!--')],
    ['processing-instruction openings', repeated('<?')],
    ['one long attribute name', within('<purge-result ', 'b')],
    ['many attributes', within('<purge-result ', 'x="1" ')],
    ['an unclosed attribute value', within('<purge-result a="', '"')],
    ['nested openings', repeated('<item>')],
    ['almost UUIDs', repeated('aaaaaaaa-aaaa-aaaa-aaaa-')],
    ['hex digits', repeated('a')],
  ])('status and purge-id XML: %s', (_name, make) => {
    expectLinear((body) => parseStatusXml(body), make);
    expectLinear((body) => parsePurgeIdFromXml(body), make);
  });

  it.each([
    ['repeated purge paths', repeated('/api/purge/')],
    ['a long id followed by more path', within('/api/purge/', 'a', '/x')],
    ['a long id of percent signs', within('/api/purge/', '%')],
  ])('the Location header: %s', (_name, make) => {
    expectLinear((location) => idFromLocation(location, 'http://127.0.0.1:1'), make);
  });
});

describe('Retry-After is read in linear time', () => {
  it.each([
    ['digits', repeated('9')],
    ['digits then a letter', within('', '9', 'x')],
    ['a day name then junk', within('Wed, ', '1 ')],
    ['a day name then parentheses', within('Wed, ', '(')],
    ['whitespace', within(' ', ' ', '1')],
  ])('%s', (_name, make) => {
    expectLinear((value) => parseRetryAfter(value), make);
    expectLinear(
      (value) => errorForStatus({ status: 429, headers: { 'retry-after': value }, body: '' }, 'x', ''),
      make,
    );
  });
});

describe('VIMS answers are mapped in linear time', () => {
  it.each([
    ['a long state', (size: number) => ({ status: repeatTo(' SUCCES', size) })],
    ['a long failure output', (size: number) => ({ status: 'FAILURE', output: repeatTo(' x', size) })],
    ['a long percentage', (size: number) => ({ status: 'STARTED', percentage: repeatTo('9', size) })],
  ])('%s', (_name, make) => {
    expectLinear(
      (text) => mapTaskState(JSON.parse(text)),
      (size) => JSON.stringify(make(size)),
    );
  });

  it('escapes a long run of regex metacharacters in linear time', () => {
    expectLinear(escapeRegex, repeated('\\^$.*+?()[]{}|/'));
  });
});

describe('API input is checked in linear time', () => {
  it.each([
    ['spaces then two words', within('Bearer ', ' \t', 'x y')],
    ['a token then a trailing space', within('Bearer ', 'a', ' ')],
    ['repeated schemes', repeated('Bearer ')],
  ])('the bearer header: %s', (_name, make) => {
    expectLinear(bearerToken, make);
  });

  it('the Redis-failure test on an error message', () => {
    expectLinear((message) => isRedisFailure(new Error(message)), repeated('Connection is '));
    expectLinear((message) => isRedisFailure(new Error(message)), repeated('max retries per '));
  });

  it.each([
    ['a long timestamp', (value: string) => ({ timestamp: value, signature: 'sha256=00' })],
    ['a long signature', (value: string) => ({ timestamp: '1', signature: value })],
  ])('webhook signature headers: %s', (_name, headers) => {
    expectLinear((value) => verify('webhook-secret-0123456789', headers(value), '{}', 1, 300), repeated('1'));
  });

  it.each([
    ['a long URL', (value: string) => ({ urls: [`https://www.example.com/${value}`] })],
    ['a long URL of percent signs', (value: string) => ({ urls: [`https://${value}`] })],
    ['a long pattern of groups', (value: string) => ({ pattern: value, cdns: ['vims'] })],
    ['a long list of CDN ids', (value: string) => ({ all: true, cdns: value.split(',') })],
  ])('purge request fields: %s', (_name, request) => {
    expectLinear((value) => purgeRequestSchema.safeParse(request(value)), repeated('(a+)+,'));
  });

  it.each([
    ['state', '1h,'],
    ['cdn', 'vims,'],
    ['since', '9'],
    ['until', '2026-11-20T'],
    ['url', '%'],
    ['limit', '9'],
    ['cursor', 'a'],
  ])('list query parameters: %s', (name, unit) => {
    const context = { now: 0, cdns: new Set(['vims']) };
    expectLinear((value) => parseListQuery({ [name]: value }, context), repeated(unit));
  });
});

describe("a caller's pattern", () => {
  it('is compiled to check its syntax, and never run on anything on its way to VIMS', () => {
    const pattern = '^(a+)+$';
    const ran: string[] = [];
    const exec = RegExp.prototype.exec;
    // Every RegExp method (test, match, replace, split) goes through exec once exec is replaced.
    const spy = vi.spyOn(RegExp.prototype, 'exec').mockImplementation(function (this: RegExp, input) {
      ran.push(this.source);
      return exec.call(this, input);
    });
    try {
      const request = purgeRequestSchema.parse({ pattern, cdns: ['vims'] });
      const settings = vimsSettingsSchema.parse({ provider: 'vims', token: 'sk_live_0123456789', cdnId: 1 });
      const provider = createVimsProvider(
        { ...settings, id: 'vims', baseUrl: 'http://127.0.0.1:1' },
        { http: { send: () => Promise.reject(new Error('not sent')), close: async () => {} } },
      );
      const [batch] = provider.toBatches({ urls: [], dirs: [], pattern: request.pattern ?? '' });
      expect(batch && toPurgeBody(batch, 'all', 'path')).toEqual({ target: 'all', pattern });
    } finally {
      spy.mockRestore();
    }
    expect(ran).not.toContain(pattern);
  });
});
