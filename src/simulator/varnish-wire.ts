/**
 * What a Varnish node with the documented purge VCL answers, as data: builtin vcl_synth's page, and the
 * cache (Host + URL, as the builtin vcl_hash keys it) that PURGE, BAN and xkey act on.
 */
import type { Reply } from './faults.ts';

/** A synthetic answer as builtin vcl_synth shapes every one: HTML, `Retry-After: 5`, the reason in an h1. */
export interface SynthReply extends Reply {
  reason: string;
}

export function synth(status: number, reason: string, xid: number): SynthReply {
  const body = `<!DOCTYPE html>
<html>
  <head>
    <title>${status} ${reason}</title>
  </head>
  <body>
    <h1>Error ${status} ${reason}</h1>
    <p>${reason}</p>
    <h3>Guru Meditation:</h3>
    <p>XID: ${xid}</p>
    <hr>
    <p>Varnish cache server</p>
  </body>
</html>
`;
  return {
    status,
    reason,
    headers: { 'content-type': 'text/html; charset=utf-8', 'retry-after': '5', 'x-varnish': String(xid) },
    body,
  };
}

/** One cached object: what `obj.http.x-host`/`x-url` hold (the lurker-friendly VCL), and its xkeys. */
export interface CachedObject {
  host: string;
  url: string;
  keys: readonly string[];
}

/** A node's cache: Host + URL to object (every Vary variant of one URL is one entry here). */
export class NodeCache {
  readonly #objects = new Map<string, CachedObject>();

  put(host: string, url: string, keys: readonly string[] = []): void {
    this.#objects.set(`${host.toLowerCase()} ${url}`, { host: host.toLowerCase(), url, keys });
  }

  has(host: string, url: string): boolean {
    return this.#objects.has(`${host.toLowerCase()} ${url}`);
  }

  /** return(purge): the object goes; answering 200 whether or not it was cached. */
  purge(host: string, url: string): void {
    this.#objects.delete(`${host.toLowerCase()} ${url}`);
  }

  /**
   * `obj.http.x-host == <host> && obj.http.x-url ~ <regex>`. Varnish evaluates a ban at the next lookup (or
   * the lurker later); removing at once shows a client the same. JS regexes stand in for PCRE.
   */
  ban(host: string, regex: RegExp): number {
    return this.#remove((object) => object.host === host.toLowerCase() && regex.test(object.url));
  }

  /** xkey.purge: every object tagged with any of the keys, whatever its host. */
  purgeKeys(keys: readonly string[]): number {
    return this.#remove((object) => object.keys.some((key) => keys.includes(key)));
  }

  get size(): number {
    return this.#objects.size;
  }

  #remove(matches: (object: CachedObject) => boolean): number {
    let removed = 0;
    for (const [key, object] of this.#objects) {
      if (!matches(object)) continue;
      this.#objects.delete(key);
      removed += 1;
    }
    return removed;
  }
}

/** An xkey header's keys: separated by spaces and/or commas (vmod_xkey). */
export function parseKeys(header: string): string[] {
  return header.split(/[\s,]+/).filter((key) => key !== '');
}

/** The client address as `client.ip ~ purge` compares it; IPv4-mapped IPv6 reads as the IPv4 address. */
export function clientIp(remoteAddress: string | undefined): string {
  const address = remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}
