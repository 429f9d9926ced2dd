import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER, sign, TIMESTAMP_HEADER, verify } from '../../src/callbacks/signature.ts';
import { ERROR_CODES } from '../../src/errors.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { startTestApi, type TestApi, WEBHOOK_SECRET } from '../harness/api.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';

/**
 * The webhook scheme as README states it, written out here on its own: `X-Purge-Timestamp` is unix seconds,
 * within `toleranceSeconds` of now, and `X-Purge-Signature` is `sha256=` and the hex HMAC-SHA256 of
 * `<timestamp>.<raw body>`, the timestamp as the header carries it. Nothing else verifies; nothing throws.
 */
const TOLERANCE = 300;
const NOW = 1_800_000_000;

function correctlySigned(
  secret: string,
  timestamp: string,
  signature: string,
  body: string,
  now = NOW,
): boolean {
  if (!/^[0-9]{1,12}$/.test(timestamp) || Math.abs(now - Number(timestamp)) > TOLERANCE) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return signature === `sha256=${expected}`;
}

const secret = fc.string({ minLength: 16, maxLength: 40 });
const body = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.json(),
  fc.constantFrom(
    '',
    ' ',
    '{}',
    '{"eventId":"e","urls":["https://www.example.com/a"]}',
    '\u0000',
    '\ufeff{}',
  ),
);
/** Seconds near now (in and out of tolerance), far from it, and text that is no number of seconds. */
const timestamp = fc.oneof(
  fc.integer({ min: -TOLERANCE - 20, max: TOLERANCE + 20 }).map((skew) => String(NOW + skew)),
  fc.integer({ min: -TOLERANCE, max: TOLERANCE }).map((skew) => `0${NOW + skew}`),
  fc.integer({ min: 0, max: 10 ** 13 }).map(String),
  fc.constantFrom(
    '',
    ' ',
    `${NOW}.0`,
    `+${NOW}`,
    `${NOW} `,
    ` ${NOW}`,
    `${NOW}\n`,
    '1e9',
    `0x${NOW.toString(16)}`,
  ),
  fc.string({ maxLength: 14 }),
);

/** Signatures a forger or a broken client would send: near misses of the right one, and noise. */
function signatureFor(key: string, ts: string, text: string): fc.Arbitrary<string> {
  const right = `sha256=${createHmac('sha256', key).update(`${ts}.${text}`).digest('hex')}`;
  return fc.oneof(
    // The right one as often as all the rest, so both sides of the property are well exercised.
    { weight: 12, arbitrary: fc.constant(right) },
    fc.constant(right.toUpperCase()),
    fc.constant(right.slice('sha256='.length)),
    fc.constant(` ${right}`),
    fc.constant(`${right}0`),
    fc.constant(right.slice(0, -1)),
    fc.nat({ max: 63 }).map((at) => {
      const index = 'sha256='.length + at;
      const flipped = right.charAt(index) === '0' ? '1' : '0';
      return `${right.slice(0, index)}${flipped}${right.slice(index + 1)}`;
    }),
    fc.constant(sign(key, Number(ts), text)),
    fc.constant(sign(`${key}x`, Number(ts), text)),
    fc.constant(`sha256=${createHmac('sha256', key).update(`${ts}.${text} `).digest('hex')}`),
    fc.constant(`sha1=${createHmac('sha1', key).update(`${ts}.${text}`).digest('hex')}`),
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.constant(''),
  );
}

const attempt = fc
  .tuple(secret, timestamp, body)
  .chain(([key, ts, text]) =>
    fc.tuple(fc.constant(key), fc.constant(ts), fc.constant(text), fc.option(signatureFor(key, ts, text))),
  );

describe('webhook signatures (property)', () => {
  it('verify only what is correctly signed, and never throw', () => {
    let verified = 0;
    fc.assert(
      fc.property(attempt, fc.boolean(), ([key, ts, text, signature], withTimestamp) => {
        const headers = { timestamp: withTimestamp ? ts : undefined, signature: signature ?? undefined };
        const result = verify(key, headers, text, NOW, TOLERANCE);
        const expected =
          headers.timestamp !== undefined &&
          headers.signature !== undefined &&
          correctlySigned(key, headers.timestamp, headers.signature, text);
        expect(result.ok, JSON.stringify(result)).toBe(expected);
        if (!result.ok) expect(result.reason).toEqual(expect.any(String));
        if (result.ok) verified++;
      }),
      { numRuns: 2000 },
    );
    expect(verified).toBeGreaterThan(50);
  });

  it('a signature over any body, at any time within tolerance, verifies', () => {
    fc.assert(
      fc.property(secret, body, fc.integer({ min: -TOLERANCE, max: TOLERANCE }), (key, text, skew) => {
        const at = NOW + skew;
        expect(
          verify(key, { timestamp: String(at), signature: sign(key, at, text) }, text, NOW, TOLERANCE),
        ).toEqual({
          ok: true,
        });
      }),
      { numRuns: 2000 },
    );
  });
});

describe('POST /v1/events/publish, fuzzed', () => {
  let simulator: Simulator;
  let api: TestApi;

  beforeAll(async () => {
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 1000 }));
    api = await startTestApi(simulator.url);
  });
  afterAll(async () => {
    await api?.close();
    await simulator?.close();
  });

  /** Bodies as a CMS (or a forger) sends them: publish events, near-events, anything. Valid UTF-8 on the wire. */
  const eventBody = fc.oneof(
    fc
      .record({
        eventId: fc.uuid(),
        urls: fc.array(
          fc.webUrl().map((u) => u.replace(/^https?:\/\/[^/]*/, 'https://www.example.com')),
          { minLength: 1, maxLength: 3 },
        ),
      })
      .map((event) => JSON.stringify(event)),
    fc.json(),
    fc.string({ unit: 'grapheme', maxLength: 80 }),
  );
  /**
   * Clock skew of the signed timestamp, clear of the tolerance's edge by 10 s either way, so the few seconds
   * between signing and the answer never decide whether it was in time.
   */
  const skew = fc.oneof(
    fc.integer({ min: -TOLERANCE + 10, max: TOLERANCE - 10 }),
    fc.integer({ min: TOLERANCE + 10, max: TOLERANCE + 400 }),
    fc.integer({ min: -TOLERANCE - 400, max: -TOLERANCE - 10 }),
  );
  /** What the request carries: a right signature, or any of the near misses and noise above. */
  const delivery = fc.tuple(eventBody, skew, fc.boolean()).chain(([text, skew, leadingZero]) => {
    const now = Math.floor(Date.now() / 1000);
    const ts = `${leadingZero ? '0' : ''}${now + skew}`;
    return fc.tuple(
      fc.constant(text),
      fc.oneof({ weight: 3, arbitrary: fc.constant(ts) }, { weight: 1, arbitrary: timestamp }),
      fc.oneof(
        { weight: 3, arbitrary: signatureFor(WEBHOOK_SECRET, ts, text) },
        { weight: 1, arbitrary: signatureFor('not-the-webhook-secret-0', ts, text) },
      ),
      fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain'),
    );
  });
  const CODES = new Set(Object.keys(ERROR_CODES));
  const printable = (text: string) => text.replace(/[^\x20-\x7e]/g, '');

  it('answers 401 to whatever is not correctly signed, and never 401 or 500 to what is', async () => {
    const outcomes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(delivery, async ([text, ts, signature, contentType]) => {
        const headers = {
          'content-type': contentType,
          [TIMESTAMP_HEADER]: printable(ts),
          [SIGNATURE_HEADER]: printable(signature),
        };
        const response = await api.app.inject({
          method: 'POST',
          url: '/v1/events/publish',
          headers,
          payload: text,
        });
        const answer = response.json<Record<string, unknown>>();
        // Only a JSON body reaches the signature check; the rest is refused as a 415 first.
        const signed =
          contentType !== 'text/plain' &&
          correctlySigned(
            WEBHOOK_SECRET,
            headers[TIMESTAMP_HEADER],
            headers[SIGNATURE_HEADER],
            text,
            Math.floor(Date.now() / 1000),
          );
        outcomes.add(`${signed ? 'signed' : 'unsigned'} ${response.statusCode}`);
        expect(response.statusCode, response.body).toBeLessThan(500);
        if (response.statusCode === 202) expect(answer.id).toEqual(expect.any(String));
        else expect(CODES, response.body).toContain(answer.error);
        if (signed) expect(response.statusCode, response.body).not.toBe(401);
        else expect([401, 415], response.body).toContain(response.statusCode);
        if (response.statusCode === 401) expect(answer.error).toBe('SIGNATURE_INVALID');
      }),
      { numRuns: 600 },
    );
    expect(outcomes).toContain('signed 202');
    expect(outcomes).toContain('unsigned 401');
  });
});
