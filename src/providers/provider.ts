import type { PurgeTarget, TargetKind } from '../model/purge.ts';

/** What every provider's settings carry besides its own fields (the shared part of a CDN entry). */
export interface CdnIdentity {
  id: string;
  baseUrl: string;
}

export interface ProviderCapabilities {
  kinds: ReadonlySet<TargetKind>;
  /** Most items (URLs + dirs) one API call takes; `toBatches` never returns a bigger batch. */
  maxItemsPerCall: number;
  /**
   * Most characters of targets (each counted escaped, as a regex would hold it, plus a separator) one call
   * takes, for a CDN whose limit is a length (VIMS: its pattern). A bound coalescing can check cheaply in
   * Redis; `toBatches` of what fits always gives one call.
   */
  maxTargetCharsPerCall?: number;
  /** What of a URL those characters count: its path and query (VIMS's default scope), or all of it. */
  targetCharsOf?: 'path' | 'url';
  /**
   * Items a CDN account may purge per UTC day, by kind (QUANTIL: 5000 urls, 500 dirs). Reserved in Redis
   * when a purge is planned, so work over quota is refused up front instead of failing later.
   */
  dailyQuota?: Partial<Record<'urls' | 'dirs', number>>;
  /**
   * What the CDN lets be in progress at once for this entry (CloudFront: 3,000 file paths and 15 wildcard
   * paths per distribution). The pipeline reserves a batch's share before its submit and gives it back when
   * the batch ends, so a flush over the budget waits instead of failing; `toBatches` never returns a batch
   * bigger than the whole budget.
   */
  inProgressLimit?: {
    items: number;
    wildcards?: number;
    /** How long a batch held back waits before it looks again (CloudFront's tasks take minutes). */
    recheckMs?: number;
  };
  /** Most tags (surrogate keys, cache tags) one batch carries, when the CDN counts them apart from items. */
  maxTagsPerCall?: number;
  /** Most dirs one batch carries, when the CDN caps them apart from items (CloudFront's wildcard paths). */
  maxDirsPerCall?: number;
}

export interface SubmitResult {
  remoteId: string;
  /** The CDN's own id for the HTTP request (QUANTIL's x-cnc-request-id), logged for support tickets. */
  requestId?: string;
  /**
   * Set by a CDN with no status to poll (Fastly, Cloudflare, Akamai Fast Purge v3, Varnish): the batch is done
   * once accepted, `afterMs` after the acceptance (the CDN's own estimate where it gives one, such as Akamai's
   * `estimatedSeconds`; 0 when it gives none), and `note` says so plainly in the batch's status. The pipeline
   * then never calls `status` for it.
   */
  doneAtAcceptance?: { afterMs: number; note: string };
  /**
   * What the CDN's rate headers said of this call's window (Fastly-RateLimit-Remaining/-Reset, ...), when it
   * sent them: at 0 remaining, every call to the CDN waits `resetAfterMs` (the shared per-CDN limit).
   */
  rateLimit?: { remaining: number; resetAfterMs: number };
}

/** What the pipeline tells a provider of the batch it submits. */
export interface SubmitContext {
  /**
   * The same for every attempt at one batch, and never for another batch (its id and when its oldest target
   * was accepted, so a Redis that lost its counters does not repeat one either): what a CDN's idempotency key
   * is made of, such as CloudFront's CallerReference.
   */
  submitKey: string;
}

/** What a CDN says about a submitted purge. A CDN reporting failure is a result, not an exception. */
export type RemoteStatus =
  | {
      state: 'pending' | 'running';
      progress?: number;
      /** When the CDN says the task started (ms since the epoch, its clock): VIMS's `start`. */
      startedAt?: number;
      note?: string;
    }
  | { state: 'succeeded'; progress?: number }
  | { state: 'failed'; reason: string; progress?: number };

/** One edge as a CDN's own API lists it: where a check connects to ask it directly. */
export interface ListedEdge {
  /** An IP address (a listing's entry that is not one is left out). */
  address: string;
  port?: number;
  name?: string;
}

export interface ProviderCheck {
  ok: boolean;
  detail: string;
}

/**
 * The whole contract between the pipeline and a CDN. Everything wire-specific (paths, auth, body formats,
 * state names) stays behind it, in the provider's own folder.
 */
export interface Provider {
  readonly cdnId: string;
  readonly name: string;
  readonly capabilities: ProviderCapabilities;
  /** Whose quota a purge uses: CDN entries that share credentials share the account's daily quota. */
  readonly quotaAccount?: string;
  /** Pure: splits a target into API-call-sized batches; throws KIND_UNSUPPORTED for a kind it cannot do. */
  toBatches(target: PurgeTarget): PurgeTarget[];
  /** `context` comes from the pipeline; a caller with no batch (a check, a library test) leaves it out. */
  submit(batch: PurgeTarget, signal?: AbortSignal, context?: SubmitContext): Promise<SubmitResult>;
  /**
   * What the CDN says of a submitted purge. A CDN with no status endpoint answers from the remote id alone
   * (its submits say `doneAtAcceptance`, so the pipeline never polls it): no call, no pretending.
   */
  status(remoteId: string, signal?: AbortSignal): Promise<RemoteStatus>;
  /**
   * The edges the CDN's own API lists (VIMS: every CDN_HOST of the service, at its IPs), for checking a purge
   * at each of them; absent for a CDN with no such listing.
   */
  listEdges?(signal?: AbortSignal): Promise<ListedEdge[]>;
  /** Verifies credentials and reachability (for `cdns --check`). */
  check(signal?: AbortSignal): Promise<ProviderCheck>;
  close(): Promise<void>;
}
