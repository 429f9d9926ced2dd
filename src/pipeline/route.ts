import type { RouteConfig } from '../config/schema.ts';
import { PurgeError } from '../errors.ts';

/** `*.example.com` covers any subdomain of example.com, not example.com itself; other entries match exactly. */
export function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const h = host.toLowerCase();
  if (p.startsWith('*.')) return h.endsWith(p.slice(1)) && h.length > p.length - 1;
  return p === h;
}

/** Every CDN whose routes cover `host`, in configuration order, without repeats. */
export function cdnsForHost(routes: readonly RouteConfig[], host: string): string[] {
  const found: string[] = [];
  for (const route of routes) {
    if (!route.hosts.some((pattern) => hostMatches(pattern, host))) continue;
    for (const cdnId of route.cdns) if (!found.includes(cdnId)) found.push(cdnId);
  }
  return found;
}

/** Groups URLs by the CDNs their hosts route to. A URL no route covers makes the whole request invalid. */
export function routeUrls(routes: readonly RouteConfig[], urls: readonly string[]): Map<string, string[]> {
  const byCdn = new Map<string, string[]>();
  const unrouted = new Set<string>();
  for (const url of urls) {
    const host = new URL(url).hostname;
    const cdnIds = cdnsForHost(routes, host);
    if (cdnIds.length === 0) unrouted.add(host);
    for (const cdnId of cdnIds) {
      const list = byCdn.get(cdnId);
      if (list) list.push(url);
      else byCdn.set(cdnId, [url]);
    }
  }
  if (unrouted.size > 0) {
    throw new PurgeError(
      'REQUEST_INVALID',
      `no route covers host(s) ${[...unrouted].join(', ')}: add a route or name the CDNs explicitly`,
    );
  }
  return byCdn;
}
