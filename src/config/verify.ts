import { isIP } from 'node:net';
import { z } from 'zod';
import { allowHostsSchema } from './allow-hosts.ts';

/** An edge to ask directly: an IP address (never a name: what is dialled is what the guard checked). */
const edgeAddressSchema = z.strictObject({
  address: z.string().refine((value) => isIP(value) !== 0, 'must be an IPv4 or IPv6 address'),
  /** Default: 80 for http, 443 for https (never a port the purged URL names). */
  port: z.number().int().min(1).max(65_535).optional(),
  /** Shown in a purge's status beside the address (a VIMS CDN_HOST's name, say). */
  name: z.string().min(1).max(200).optional(),
});

export type EdgeAddressConfig = z.infer<typeof edgeAddressSchema>;

/** Headers a check may not set: the URL's host goes in Host, and nothing else frames the request. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade']);

/**
 * Checking at the edge that a purge took effect (README "Verification"), per CDN, off unless set. After the
 * CDN reports a batch done, a sample of its URLs is asked of each edge; a copy older than the purge is sent
 * again (a re-purge, through the pending set like any purge) and checked again, up to `maxRepurges`.
 */
export const verifySchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** URLs of each batch asked of every edge; an `urgent` batch has all of its URLs asked (up to 1,000). */
    sample: z.number().int().min(1).max(1_000).default(10),
    /**
     * Which edges: `listing` (VIMS: every CDN_HOST of the service, at the IPs its services listing gives),
     * `dns` (the URL's host as DNS resolves it: only the edge DNS picks), or a list of edge addresses.
     * Default: `listing` where the CDN has one, else `dns`.
     */
    edges: z
      .union([z.literal('listing'), z.literal('dns'), z.array(edgeAddressSchema).min(1).max(64)])
      .optional(),
    /** The port edges from the listing are asked on when the listing names none (default: 80 or 443). */
    edgePort: z.number().int().min(1).max(65_535).optional(),
    method: z.enum(['HEAD', 'GET']).default('HEAD'),
    /**
     * How edges are asked: over the URL's own scheme (`url`), or always `http` or `https` (edges that
     * answer internal checks over plain HTTP, say). The Host is the URL's either way.
     */
    scheme: z.enum(['url', 'http', 'https']).default('url'),
    /** Sent with every check (a CDN's debug header, say); Host and framing headers cannot be set. */
    headers: z
      .record(
        z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/, 'must be a header name'),
        z.string().max(1024),
      )
      .default({})
      .superRefine((headers, ctx) => {
        for (const name of Object.keys(headers))
          if (RESERVED_HEADERS.has(name.toLowerCase()))
            ctx.addIssue({ code: 'custom', path: [name], message: `${name} cannot be set on a check` });
      }),
    /** Wait after the CDN reports success before the first check (edges take a moment to drop copies). */
    delayMs: z.number().int().min(0).max(600_000).default(2_000),
    /** Times stale URLs are sent again before the batch ends `stale`. */
    maxRepurges: z.number().int().min(0).max(5).default(1),
    /**
     * A second purge of the whole batch this long after the CDN reports the first done (for CDNs whose
     * shields re-serve an old copy to edges that just dropped it); checked afterwards when enabled.
     */
    repeatAfterMs: z.number().int().min(1).max(3_600_000).optional(),
    /** Bounds one check (connect, answer, and for GET the body, read and dropped). */
    timeoutMs: z.number().int().min(1).max(60_000).default(5_000),
    /** Checks one worker process has open to one edge at once. */
    concurrencyPerEdge: z.number().int().min(1).max(64).default(4),
    /** Checks one worker process starts per second for this CDN, across its edges. */
    ratePerSecond: z.number().int().min(1).max(10_000).default(50),
    /**
     * The origin, asked (Host the URL's) for its current ETag and Last-Modified: the strongest evidence,
     * the one that tells a copy a stale shield re-served from a new one.
     */
    origin: edgeAddressSchema
      .omit({ name: true })
      .extend({ protocol: z.enum(['http', 'https']).optional() })
      .optional(),
    /**
     * Edge (and origin) addresses allowed although not public, as `callbacks.allowHosts`: IPs and CIDRs.
     * Every other loopback, private or link-local address is refused before anything is sent.
     */
    allowHosts: allowHostsSchema,
    /** From the CDN reporting the batch done: past it a verification still waiting on a re-purge ends. */
    deadlineMs: z.number().int().min(1_000).max(86_400_000).default(600_000),
  })
  .optional();

export type VerifyConfig = NonNullable<z.infer<typeof verifySchema>>;
