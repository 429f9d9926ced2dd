import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cloudflareCdnSchema } from '../../src/config/schema.ts';
import { ERROR_CODES, PurgeError } from '../../src/errors.ts';
import { createCloudflareProvider } from '../../src/providers/cloudflare/provider.ts';
import type { HttpClient, HttpResponse } from '../../src/providers/http.ts';

/**
 * Cloudflare's answers come off the network: whatever status, headers and body a call gets back, a submit
 * ends in a result or one of our error codes, never a stray exception, and within a bounded number of calls
 * (the split-and-resend on "too many items" must stop).
 */
const CODES = new Set(Object.keys(ERROR_CODES));
const envelopeBody = fc
  .record({
    success: fc.oneof(fc.boolean(), fc.constant('true'), fc.constant(null)),
    errors: fc.oneof(
      fc.array(
        fc.record({
          code: fc.oneof(fc.integer(), fc.constantFrom(10000, 6003, 1012, 971), fc.string()),
          message: fc.oneof(
            fc.string(),
            fc.constantFrom('no more than 0 items', 'too many', 'up to 9999 files'),
          ),
          error_chain: fc.option(fc.array(fc.record({ code: fc.integer(), message: fc.string() })), {
            nil: undefined,
          }),
        }),
        { maxLength: 3 },
      ),
      fc.constant('nope'),
    ),
    result: fc.oneof(
      fc.constant(null),
      fc.constant({}),
      fc.record({ id: fc.oneof(fc.string(), fc.integer()) }),
    ),
  })
  .map((value) => JSON.stringify(value));
const body = fc.oneof(
  envelopeBody,
  fc.string(),
  fc.constantFrom('', '{', '[]', 'null', '<html>502</html>', '{"__proto__":{"success":true}}'),
);
const headerValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('"default";r=0;t=30', '"default";r=99999999999;t=-1', 'r=1;t=1e9', '5'),
);
const answer: fc.Arbitrary<HttpResponse> = fc.record({
  status: fc.oneof(
    fc.constantFrom(200, 400, 401, 403, 404, 409, 429, 500, 503),
    fc.integer({ min: 100, max: 599 }),
  ),
  headers: fc.record(
    {
      ratelimit: headerValue,
      'retry-after': headerValue,
      'ratelimit-remaining': headerValue,
      'ratelimit-reset': headerValue,
    },
    { requiredKeys: [] },
  ),
  body,
});

describe('Cloudflare answers', () => {
  it('are a result or one of our errors, whatever comes back, in a bounded number of calls', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(answer, { minLength: 1, maxLength: 6 }), async (answers) => {
        let calls = 0;
        const http: HttpClient = {
          async send() {
            const reply = answers[calls % answers.length] as HttpResponse;
            calls += 1;
            return reply;
          },
          async close() {},
        };
        const provider = createCloudflareProvider(
          cloudflareCdnSchema.parse({
            id: 'cf',
            provider: 'cloudflare',
            zoneId: '023e105f4ecef8ad9ca31a8372d0c353',
            apiToken: 'Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY',
          }),
          { http },
        );
        const urls = Array.from({ length: 30 }, (_, i) => `https://www.example.com/${i}`);
        try {
          const result = await provider.submit({ urls, dirs: ['https://www.example.com/d/'], tags: ['t'] });
          expect(await provider.status(result.remoteId)).toMatchObject({ state: 'succeeded' });
          if (result.rateLimit) {
            expect(Number.isFinite(result.rateLimit.resetAfterMs)).toBe(true);
            expect(result.rateLimit.resetAfterMs).toBeGreaterThanOrEqual(0);
          }
        } catch (error) {
          expect(error, String(error)).toBeInstanceOf(PurgeError);
          expect(CODES).toContain((error as PurgeError).code);
          const wait = (error as PurgeError).retryAfterMs;
          if (wait !== undefined) expect(Number.isFinite(wait) && wait >= 0).toBe(true);
        }
        // 3 calls, plus at most 16 resends of split calls.
        expect(calls).toBeLessThanOrEqual(3 + 16 + 30);
        const check = await provider.check();
        expect(typeof check.ok).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });
});
