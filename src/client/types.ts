import type { DryRunAnswer } from '../api/dry-run-answer.ts';
import type { Priority } from '../model/purge.ts';
import type { PurgeState, PurgeStatus as StoredPurgeStatus } from '../model/status.ts';
import type { ListPage, PurgeSummary } from '../status/list.ts';

export type { DryRunAnswer, ListPage, Priority, PurgeState, PurgeSummary };

/** What a purge asks for: `urls`, `dirs`, a `pattern` or `all: true`, as POST /v1/purges takes it. */
export interface PurgeRequest {
  urls?: string[];
  dirs?: string[];
  /** A regular expression, only where the CDN supports it (and with `cdns`). */
  pattern?: string;
  /** Everything on the named CDNs (with `cdns`); never combined with other targets. */
  all?: boolean;
  /** CDN ids; otherwise each URL goes where its host routes. */
  cdns?: string[];
  priority?: Priority;
  /** Where the final status is POSTed, signed, once the purge ends (a public host, or callbacks.allowHosts). */
  callbackUrl?: string;
}

/** A purge's status as the API answers it (the stored record without its callbackUrl). */
export type PurgeStatus = Omit<StoredPurgeStatus, 'callbackUrl'>;

/** The 202 of an accepted purge. */
export interface PurgeAccepted {
  id: string;
  cdns: string[];
  /** True when the idempotency key named an earlier purge of the same request: nothing new was enqueued. */
  duplicate: boolean;
}

export interface CallOptions {
  /** Aborts the call; it then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface PurgeOptions extends CallOptions {
  /**
   * Sent as the `Idempotency-Key` header: a repeat of the same request under the same key (by the same
   * token, within api.idempotencyWindowSeconds) answers the first purge with `duplicate: true`.
   */
  idempotencyKey?: string;
}

/** GET /v1/purges filters; every one optional (README: "GET /v1/purges — list purges"). */
export interface ListOptions extends CallOptions {
  state?: PurgeState | readonly PurgeState[];
  cdn?: string | readonly string[];
  /** Accepted at or after: a Date, epoch milliseconds, an ISO 8601 date, or a span back from now (`1h`). */
  since?: Date | number | string;
  until?: Date | number | string;
  /** Text one of its URLs, dirs or its pattern contains. */
  url?: string;
  /** 1 to 200 (the API's default: 50). */
  limit?: number;
  /** The `nextCursor` of the page before, as it came. */
  cursor?: string;
}

export interface WaitOptions extends CallOptions {
  /** Give up after this long with a WAIT_TIMEOUT error (the purge goes on). Default 10 minutes. */
  timeoutMs?: number;
  /** The first pause between two reads of the status; each next one doubles. Default 250 ms. */
  pollIntervalMs?: number;
  /** The longest pause between two reads. Default 5 s. */
  maxPollIntervalMs?: number;
  /** Told every status read, the final one included. */
  onStatus?: (status: PurgeStatus) => void;
}

export interface PurgeClientOptions {
  /** Where the API listens, e.g. `http://127.0.0.1:8080` (http or https). */
  baseUrl: string | URL;
  /** An `api.tokens` entry, sent as `Authorization: Bearer …`; never logged, never part of an error. */
  token: string;
  /** Bound on each HTTP call: connecting, the answer's headers, its body, and the whole. Default 10 s. */
  timeoutMs?: number;
  /** The largest answer read; over it, API_BAD_RESPONSE. Default 8 MiB. */
  maxResponseBytes?: number;
}

export interface PurgeClient {
  /** POST /v1/purges: 202 accepted (or a repeat of an idempotency key). */
  purge(request: PurgeRequest, options?: PurgeOptions): Promise<PurgeAccepted>;
  /** POST /v1/purges with `dryRun: true`: what accepting it now would do; writes nothing. */
  dryRun(request: PurgeRequest, options?: PurgeOptions): Promise<DryRunAnswer>;
  /** GET /v1/purges/:id (NOT_FOUND: unknown, or its status expired). */
  status(id: string, options?: CallOptions): Promise<PurgeStatus>;
  /** GET /v1/purges: one page, newest first; follow `nextCursor` until there is none. */
  list(options?: ListOptions): Promise<ListPage>;
  /**
   * Reads the purge's status until it is succeeded, failed or timed_out, and answers that status (a failed
   * purge is an answer, not an error). Gives up with PurgeWaitTimeoutError after `timeoutMs`.
   */
  waitFor(id: string, options?: WaitOptions): Promise<PurgeStatus>;
  /** Closes the client's connections. */
  close(): Promise<void>;
}
