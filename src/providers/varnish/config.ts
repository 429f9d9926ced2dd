import { z } from 'zod';
import type { CdnIdentity } from '../provider.ts';

/** A header name as RFC 9110 spells a token; lower-cased, since Node sends and reads them so. */
const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/, 'must be an HTTP header name')
  .transform((name) => name.toLowerCase());

const nodeUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL of a cache node' });

/**
 * Varnish's own fields of a CDN entry. There is no vendor API: every purge is plain HTTP to each cache node,
 * and the wire contract is whatever the nodes' VCL implements, so the header names below are the VCL's
 * (defaults follow the project convention in shared/providers/varnish.md; all of it inferred).
 * `baseUrl` (every entry has one) is the first node; `nodes` lists the others.
 */
export const varnishSettingsSchema = z.strictObject({
  provider: z.literal('varnish'),
  /** The other cache nodes besides `baseUrl` (`http://10.0.0.6:6081`, ...): each has its own cache. */
  nodes: z.array(nodeUrl).max(63).default([]),
  /**
   * Hosts (the site's `Host` header values) a `pattern` or `all` purge bans on: those kinds name no host
   * themselves. Without them, `pattern` and `all` are refused.
   */
  hosts: z.array(z.hostname('must be a hostname such as www.example.com')).min(1).max(64).optional(),
  /** Header the BAN carries its anchored regex in (VCL: `ban("obj.http.x-url ~ " + req.http.x-ban-url)`). */
  banHeader: headerName.default('x-ban-url'),
  /**
   * Optional shared secret, when the VCL checks one besides (or instead of) its client-IP ACL: a VCL
   * choice, not Varnish's. Use `${ENV_VAR}` in the file; never logged.
   */
  secret: z
    .strictObject({ header: headerName.default('x-purge-token'), value: z.string().min(16) })
    .optional(),
  /** Requests in flight to one node at once (the spec suggests a per-node cap). */
  perNodeConcurrency: z.number().int().min(1).max(64).default(4),
  /** Most URLs in one batch: each is one PURGE per node, so this bounds one submit's requests. */
  maxItemsPerCall: z.number().int().min(1).max(1000).default(50),
});

export type VarnishCdnConfig = z.infer<typeof varnishSettingsSchema> & CdnIdentity;

/** Every node a purge goes to: `baseUrl` first, then `nodes`, each once, without a trailing slash. */
export function nodesOf(config: Pick<VarnishCdnConfig, 'baseUrl' | 'nodes'>): string[] {
  return [...new Set([config.baseUrl, ...config.nodes].map((url) => url.replace(/\/+$/, '')))];
}
