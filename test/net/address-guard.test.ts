import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { allowEntryKind, createAddressGuard } from '../../src/net/address-guard.ts';

/** Pure classification: every address here is data, compared and never dialled. */
describe('the address guard', () => {
  const guard = createAddressGuard({ allowHosts: [] });
  const refusal = (address: string) => guard.refusal(address, address);

  it.each([
    ['IPv4 loopback', '127.0.0.1', /loopback/],
    ['the far end of 127/8', '127.255.255.254', /loopback/],
    ['IPv4 loopback in hex', '0x7f000001', /loopback/],
    ['IPv4 loopback as one decimal number', '2130706433', /loopback/],
    ['IPv4 loopback in octal', '0177.0.0.1', /loopback/],
    ['IPv6 loopback', '::1', /loopback/],
    ['IPv6 loopback written out', '0:0:0:0:0:0:0:1', /loopback/],
    ['IPv4-mapped loopback', '::ffff:127.0.0.1', /maps to 127\.0\.0\.1, a loopback address/],
    ['IPv4-mapped loopback in hex groups', '::ffff:7f00:1', /maps to 127\.0\.0\.1/],
    ['IPv4-compatible loopback', '::7f00:1', /IPv4-compatible/],
    // ipaddr.js reads this spelling as IPv4-mapped (URL parsing writes it ::7f00:1): refused either way.
    ['IPv4-compatible loopback, dotted', '::127.0.0.1', /loopback/],
    ['10/8', '10.0.0.1', /private/],
    ['172.16/12', '172.31.255.1', /private/],
    ['192.168/16', '192.168.0.1', /private/],
    ['IPv4-mapped private', '::ffff:10.0.0.1', /maps to 10\.0\.0\.1, a private address/],
    ['link-local (cloud metadata)', '169.254.169.254', /link-local/],
    ['IPv6 link-local', 'fe80::1', /link-local/],
    ['IPv6 unique-local', 'fd00::1', /unique-local/],
    ['IPv6 unique-local, fc half', 'fc00::1', /unique-local/],
    ['IPv4 unspecified', '0.0.0.0', /unspecified/],
    ['0/8', '0.1.2.3', /unspecified/],
    ['IPv6 unspecified', '::', /unspecified/],
    ['IPv4 multicast', '224.0.0.1', /multicast/],
    ['IPv6 multicast', 'ff02::1', /multicast/],
    ['broadcast', '255.255.255.255', /broadcast/],
    ['carrier-grade NAT', '100.64.0.1', /carrier-grade NAT/],
    ['reserved (240/4)', '240.0.0.1', /reserved/],
    ['NAT64 of loopback', '64:ff9b::7f00:1', /rfc6052/],
    ['6to4 of loopback', '2002:7f00:1::', /6to4/],
    ['not an address at all', 'localhost', /not an IP address/],
  ])('refuses %s (%s)', (_name, address, reason) => {
    expect(refusal(address)).toMatch(reason);
  });

  it.each([
    ['a public IPv4 address', '93.184.215.14'],
    ['a public IPv6 address', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
    ['an IPv4-mapped public address', '::ffff:93.184.215.14'],
    ['172.32/16, just outside 172.16/12', '172.32.0.1'],
  ])('lets %s through', (_name, address) => {
    expect(refusal(address)).toBeUndefined();
  });

  describe('with callbacks.allowHosts', () => {
    const allowing = createAddressGuard({
      allowHosts: ['cms.internal', '127.0.0.1', '10.20.0.0/16', 'fd00:1::/32'],
    });

    it('lets an allowed host name reach any address it resolves to, whatever its case or final dot', () => {
      expect(allowing.refusal('10.9.9.9', 'cms.internal')).toBeUndefined();
      expect(allowing.refusal('10.9.9.9', 'CMS.Internal.')).toBeUndefined();
      expect(allowing.refusal('10.9.9.9', 'other.internal')).toMatch(/private/);
    });

    it('lets an allowed address through in any spelling, and no neighbour', () => {
      expect(allowing.refusal('127.0.0.1', '127.0.0.1')).toBeUndefined();
      expect(allowing.refusal('::ffff:127.0.0.1', '::ffff:127.0.0.1')).toBeUndefined();
      expect(allowing.refusal('127.0.0.2', '127.0.0.2')).toMatch(/loopback/);
      expect(allowing.refusal('::1', '::1')).toMatch(/loopback/);
    });

    it('lets addresses inside an allowed CIDR through, and none outside it', () => {
      expect(allowing.refusal('10.20.255.1', 'x')).toBeUndefined();
      expect(allowing.refusal('10.21.0.1', 'x')).toMatch(/private/);
      expect(allowing.refusal('fd00:1:2::3', 'x')).toBeUndefined();
      expect(allowing.refusal('fd00:2::3', 'x')).toMatch(/unique-local/);
    });
  });

  describe('resolving a host', () => {
    const answering =
      (answers: LookupAddress[], calls: string[] = []) =>
      async (hostname: string) => {
        calls.push(hostname);
        return answers;
      };

    it('checks an IP literal without asking DNS, brackets and all', async () => {
      const calls: string[] = [];
      const literal = createAddressGuard({ allowHosts: [], lookup: answering([], calls) });
      await expect(literal.resolve('[::1]')).rejects.toMatchObject({ code: 'CALLBACK_URL_FORBIDDEN' });
      await expect(literal.resolve('93.184.215.14')).resolves.toEqual([
        { address: '93.184.215.14', family: 4 },
      ]);
      expect(calls).toEqual([]);
    });

    it('refuses a name when any one of its addresses is not public', async () => {
      const mixed = createAddressGuard({
        allowHosts: [],
        lookup: answering([
          { address: '93.184.215.14', family: 4 },
          { address: 'fe80::1', family: 6 },
        ]),
      });
      await expect(mixed.resolve('cms.example.net')).rejects.toMatchObject({
        code: 'CALLBACK_URL_FORBIDDEN',
        message: expect.stringMatching(/cms\.example\.net resolves to fe80::1: .*link-local/),
      });
    });

    it('returns every checked address of a public name', async () => {
      const answers = [
        { address: '93.184.215.14', family: 4 },
        { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
      ];
      const ok = createAddressGuard({ allowHosts: [], lookup: answering(answers) });
      await expect(ok.resolve('cms.example.net')).resolves.toEqual(answers);
    });

    it('refuses a name that resolves to nothing', async () => {
      const empty = createAddressGuard({ allowHosts: [], lookup: answering([]) });
      await expect(empty.resolve('cms.example.net')).rejects.toMatchObject({
        code: 'REQUEST_INVALID',
        message: 'callbackUrl host cms.example.net resolves to no address',
      });
    });

    it('gives up on a lookup that does not answer within its bound', async () => {
      const silent = createAddressGuard({
        allowHosts: [],
        lookup: () => new Promise(() => {}),
        lookupTimeoutMs: 20,
      });
      await expect(silent.resolve('cms.example.net')).rejects.toMatchObject({
        code: 'REQUEST_INVALID',
        message: expect.stringMatching(
          /does not resolve \(resolving cms\.example\.net: no answer within 20 ms\)/,
        ),
      });
    });
  });

  it.each([
    ['cms.internal', 'name'],
    ['10.0.0.0/8', 'cidr'],
    ['fd00::/8', 'cidr'],
    ['127.0.0.1', 'address'],
    ['::1', 'address'],
  ])('reads the allowHosts entry %s as a %s', (entry, kind) => {
    expect(allowEntryKind(entry)).toBe(kind);
  });

  it.each([
    ['127.1', /four-part decimal/],
    ['0x7f000001', /four-part decimal/],
    ['10.0.0.0/33', /not a CIDR/],
    ['http://cms.internal', /is a URL: give its host name only/],
    ['cms internal', /not a host name/],
    ['-cms.internal', /not a host name/],
  ])('explains why the allowHosts entry %s is not one', (entry, reason) => {
    expect(allowEntryKind(entry)).toEqual({ invalid: expect.stringMatching(reason) });
  });
});
