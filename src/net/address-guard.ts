import { promises as dns, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { PurgeError } from '../errors.ts';
import { withTimeout } from '../with-timeout.ts';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Every address a host name resolves to (dns.lookup with `all`); injectable so tests feed answers as data. */
export type HostLookup = (hostname: string) => Promise<readonly LookupAddress[]>;

export const systemLookup: HostLookup = (hostname) => dns.lookup(hostname, { all: true, order: 'verbatim' });

/**
 * Decides which addresses a caller-named URL (a completion callback) may reach. Only global unicast
 * addresses pass, as ipaddr.js classifies them: loopback, private, link-local (cloud metadata),
 * unique-local, unspecified, multicast, broadcast, carrier-grade NAT, reserved and the IPv6 ranges that
 * embed or translate to IPv4 (NAT64, 6to4, Teredo) are refused, as are IPv4-mapped and IPv4-compatible
 * IPv6 spellings of a refused address. `allowHosts` lets an operator name exceptions (an internal CMS).
 */
export interface AddressGuard {
  /** Why `address`, reached under the name `host`, may not be dialled; undefined when it may. */
  refusal(address: string, host: string): string | undefined;
  /**
   * The addresses to dial for `host` (a URL's hostname, brackets allowed): the literal itself, or every
   * address the name resolves to, each one checked. Throws CALLBACK_URL_FORBIDDEN when any is refused,
   * REQUEST_INVALID when the name does not resolve within the bound, CALLBACK_CHECK_BUSY when
   * `maxLookupsInFlight` lookups are already running.
   */
  resolve(host: string): Promise<LookupAddress[]>;
}

export interface AddressGuardOptions {
  /** Host names (exact) and IP addresses or CIDRs allowed even when not public. */
  allowHosts: readonly string[];
  lookup?: HostLookup;
  lookupTimeoutMs?: number;
  /**
   * Most lookups running at once (unbounded when absent). A lookup is counted until it settles, not until
   * `lookupTimeoutMs` gives up on it: dns.lookup runs on libuv's small thread pool, and one abandoned by
   * our timeout still holds its thread.
   */
  maxLookupsInFlight?: number;
}

/** RFC 4291's deprecated IPv4-compatible form (::a.b.c.d); ipaddr.js files it under unicast. */
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

const RANGE_WORDS: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private address',
  linkLocal: 'a link-local address',
  uniqueLocal: 'a unique-local address',
  unspecified: 'the unspecified address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  carrierGradeNat: 'a carrier-grade NAT address',
};

export function createAddressGuard(options: AddressGuardOptions): AddressGuard {
  const allow = parseAllowList(options.allowHosts);
  const lookup = options.lookup ?? systemLookup;
  const lookupTimeoutMs = options.lookupTimeoutMs ?? 5_000;
  const maxInFlight = options.maxLookupsInFlight ?? Number.POSITIVE_INFINITY;
  let inFlight = 0;

  /** Starts a lookup, or throws CALLBACK_CHECK_BUSY at once when the bound is reached. */
  const startLookup = (name: string): Promise<readonly LookupAddress[]> => {
    if (inFlight >= maxInFlight) {
      throw new PurgeError(
        'CALLBACK_CHECK_BUSY',
        `callbackUrl host ${name} cannot be checked now: ${inFlight} host lookups already running; nothing was enqueued, retry shortly`,
      );
    }
    inFlight++;
    let answer: Promise<readonly LookupAddress[]>;
    try {
      answer = lookup(name);
    } catch (error) {
      answer = Promise.reject(error);
    }
    // Given back when the lookup itself settles (its thread is free again), never when we stop waiting.
    const settled = () => {
      inFlight--;
    };
    answer.then(settled, settled);
    return answer;
  };

  const refusal = (address: string, host: string): string | undefined => {
    if (allow.names.has(normalizeName(host))) return undefined;
    if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
    const parsed = ipaddr.parse(address);
    const { effective, spelledAs } = unwrapIPv4(parsed);
    if (allow.ranges.some((range) => sameKind(effective, range[0]) && effective.match(range)))
      return undefined;
    if (spelledAs === 'ipv4Compatible') return `${address} is an IPv4-compatible IPv6 address (deprecated)`;
    const range = effective.range();
    if (range === 'unicast') return undefined;
    const words = RANGE_WORDS[range] ?? `in the ${range} range`;
    return spelledAs === 'ipv4Mapped'
      ? `${address} maps to ${effective.toString()}, ${words}`
      : `${address} is ${words}`;
  };

  return {
    refusal,
    async resolve(host) {
      const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
      const family = isIP(bare);
      if (family !== 0) {
        const why = refusal(bare, bare);
        if (why) throw forbidden(`callbackUrl host ${bare} may not be called: ${why}`);
        return [{ address: bare, family }];
      }
      const answer = startLookup(bare);
      let addresses: readonly LookupAddress[];
      try {
        addresses = await withTimeout(answer, lookupTimeoutMs, `resolving ${bare}`);
      } catch (error) {
        const reason = (error as { code?: string }).code ?? (error as Error).message;
        throw new PurgeError('REQUEST_INVALID', `callbackUrl host ${bare} does not resolve (${reason})`, {
          cause: error,
        });
      }
      if (addresses.length === 0)
        throw new PurgeError('REQUEST_INVALID', `callbackUrl host ${bare} resolves to no address`);
      for (const { address } of addresses) {
        const why = refusal(address, bare);
        if (why) throw forbidden(`callbackUrl host ${bare} resolves to ${address}: ${why}`);
      }
      return [...addresses];
    },
  };
}

function forbidden(message: string): PurgeError {
  return new PurgeError('CALLBACK_URL_FORBIDDEN', `${message} (callbacks.allowHosts can allow it)`);
}

/** The IPv4 address an IPv6 spelling stands for (::ffff:a.b.c.d, ::a.b.c.d), else the address itself. */
function unwrapIPv4(address: Address): {
  effective: Address;
  spelledAs: 'plain' | 'ipv4Mapped' | 'ipv4Compatible';
} {
  if (address.kind() === 'ipv4') return { effective: address, spelledAs: 'plain' };
  const v6 = address as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return { effective: v6.toIPv4Address(), spelledAs: 'ipv4Mapped' };
  // :: and ::1 sit inside ::/96 too; they keep their own names (unspecified, loopback).
  const range = v6.range();
  if (range !== 'unspecified' && range !== 'loopback' && v6.match(IPV4_COMPATIBLE)) {
    return { effective: ipaddr.fromByteArray(v6.toByteArray().slice(12)), spelledAs: 'ipv4Compatible' };
  }
  return { effective: v6, spelledAs: 'plain' };
}

function sameKind(a: Address, b: Address): boolean {
  return a.kind() === b.kind();
}

/**
 * One spelling per host name: DNS names are case-insensitive and `cms.example.com.` (fully qualified) is
 * `cms.example.com`. Used wherever a host name is compared or counted (the allow list, delivery slots).
 */
export function normalizeName(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

interface AllowList {
  names: Set<string>;
  ranges: Array<[Address, number]>;
}

function parseAllowList(entries: readonly string[]): AllowList {
  const names = new Set<string>();
  const ranges: Array<[Address, number]> = [];
  for (const entry of entries) {
    const kind = allowEntryKind(entry);
    if (kind === 'cidr') {
      ranges.push(ipaddr.parseCIDR(entry));
    } else if (kind === 'address') {
      const { effective } = unwrapIPv4(ipaddr.parse(entry));
      ranges.push([effective, effective.kind() === 'ipv4' ? 32 : 128]);
    } else if (kind === 'name') {
      names.add(normalizeName(entry));
    } else {
      throw new PurgeError('CONFIG_INVALID', `callbacks.allowHosts: ${kind.invalid}`);
    }
  }
  return { names, ranges };
}

/**
 * What an allowHosts entry is: an IPv4 address or CIDR in four-part decimal, an IPv6 one, or a host name
 * of DNS labels. Anything else is explained (config validation uses this too). Split and tested label by
 * label rather than with one regex, so checking stays linear in the entry's length.
 */
export function allowEntryKind(entry: string): 'cidr' | 'address' | 'name' | { invalid: string } {
  if (entry.includes('://')) return { invalid: `"${entry}" is a URL: give its host name only` };
  if (entry.includes('/')) {
    if (ipaddr.IPv4.isValidCIDRFourPartDecimal(entry) || ipaddr.IPv6.isValidCIDR(entry)) return 'cidr';
    return { invalid: `"${entry}" is not a CIDR (e.g. 10.0.0.0/8, fd00::/8)` };
  }
  if (ipaddr.IPv4.isValidFourPartDecimal(entry) || ipaddr.IPv6.isValid(entry)) return 'address';
  const labels = normalizeName(entry).split('.');
  const label = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
  if (entry.length > 253 || !labels.every((part) => part.length <= 63 && label.test(part)))
    return { invalid: `"${entry}" is not a host name, an IP address or a CIDR` };
  // A URL parser reads a name whose last label is a number as IPv4 (127.1 is 127.0.0.1): never a name.
  if (/^(?:\d+|0x[0-9a-f]*)$/.test(labels[labels.length - 1] ?? ''))
    return { invalid: `"${entry}" reads as an IPv4 address: write it in four-part decimal (127.0.0.1)` };
  return 'name';
}
