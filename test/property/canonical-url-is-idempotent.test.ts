import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalUrl, LARGEST_MAX_URL_LENGTH } from '../../src/model/url.ts';
import { rawUrl } from './arbitraries.ts';

const role = fc.constantFrom('url' as const, 'dir' as const);
/** The configured limit: the default, the bounds api.maxUrlLength allows, and short ones a URL runs into. */
const maxLength = fc.oneof(
  fc.constantFrom(2048, 64, LARGEST_MAX_URL_LENGTH),
  fc.integer({ min: 64, max: 160 }),
);

describe('canonical URLs (property)', () => {
  it('canonicalising a canonical URL or dir gives it back unchanged', () => {
    let canonical = 0;
    fc.assert(
      fc.property(rawUrl, role, maxLength, (raw, as, max) => {
        const once = canonicalUrl(raw, as, max);
        if (!once.ok) return;
        canonical++;
        expect(canonicalUrl(once.value, as, max)).toEqual(once);
      }),
      { numRuns: 5000 },
    );
    // Most inputs get through: the property is about what ingest keeps, not what it refuses.
    expect(canonical).toBeGreaterThan(1000);
  });

  it('a canonical value is what ingest may send: printable ASCII, no fragment, within the limit', () => {
    fc.assert(
      fc.property(rawUrl, role, maxLength, (raw, as, max) => {
        const once = canonicalUrl(raw, as, max);
        if (!once.ok) return;
        expect(once.value).toMatch(/^https?:\/\/[\x21-\x7e]+$/);
        expect(once.value).not.toContain('#');
        expect(once.value.length).toBeLessThanOrEqual(max);
      }),
      { numRuns: 3000 },
    );
  });
});
