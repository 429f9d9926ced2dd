import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { PurgeError } from '../../src/errors.ts';
import { QUANTIL_ENTRY, VIMS_ENTRY } from './fixtures.ts';

function messageOf(verify: unknown): string {
  try {
    parseConfig({ cdns: [{ ...VIMS_ENTRY, verify }] }, {});
  } catch (error) {
    if (error instanceof PurgeError && error.code === 'CONFIG_INVALID') return error.message;
    throw error;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('cdns[].verify', () => {
  it('is off unless set, and set fills the documented defaults', () => {
    expect(parseConfig({ cdns: [VIMS_ENTRY] }, {}).cdns[0]?.verify).toBeUndefined();
    expect(parseConfig({ cdns: [{ ...VIMS_ENTRY, verify: {} }] }, {}).cdns[0]?.verify).toEqual({
      enabled: true,
      sample: 10,
      method: 'HEAD',
      scheme: 'url',
      headers: {},
      delayMs: 2_000,
      maxRepurges: 1,
      timeoutMs: 5_000,
      concurrencyPerEdge: 4,
      ratePerSecond: 50,
      allowHosts: [],
      deadlineMs: 600_000,
    });
  });

  it('names each bad field: an edge that is a name rather than an address, a Host header, a bad CIDR', () => {
    const message = messageOf({
      edges: [{ address: 'edge-1.example.net' }],
      headers: { Host: 'www.example.com' },
      allowHosts: ['10.0.0.0/99'],
      sample: 0,
    });
    expect(message).toContain('cdns[0].verify.edges');
    expect(message).toContain('cdns[0].verify.headers.Host: Host cannot be set on a check');
    expect(message).toContain('cdns[0].verify.allowHosts[0]');
    expect(message).toContain('cdns[0].verify.sample');
  });

  it('refuses a listing of edges for a CDN that has none, and a deadline the first check would come after', () => {
    const quantil = () => parseConfig({ cdns: [{ ...QUANTIL_ENTRY, verify: { edges: 'listing' } }] }, {});
    expect(quantil).toThrow(/cdns\[0\]\.verify\.edges: quantil has no listing of its edges/);
    expect(messageOf({ delayMs: 5_000, repeatAfterMs: 60_000, deadlineMs: 60_000 })).toContain(
      'cdns[0].verify.deadlineMs: must be longer than delayMs + repeatAfterMs (65000 ms)',
    );
  });

  it('refuses an unknown key with its path', () => {
    expect(messageOf({ samples: 5 })).toContain('cdns[0].verify');
  });
});
