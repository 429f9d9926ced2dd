import { PurgeError } from '../../errors.ts';
import type { PurgeTarget } from '../../model/purge.ts';
import { bodyExcerpt, type HttpClient, type HttpResponse, isSuccess } from '../http.ts';
import type { Provider, ProviderCheck, SubmitResult } from '../provider.ts';
import { type CloudflareCaps, type CloudflareCdnConfig, capsOf } from './config.ts';
import {
  type CloudflareEnvelope,
  parseEnvelope,
  rateHeaderOf,
  refusalOf,
  resultIdOf,
  tooManyItemsLimit,
} from './envelope.ts';
import {
  bodyOf,
  CLOUDFLARE_KINDS,
  type CloudflareCall,
  maxItemsPerCall,
  remoteIdFor,
  splitIntoBatches,
  statusOfRemoteId,
  toCalls,
} from './mapping.ts';

export interface CloudflareDeps {
  http: HttpClient;
}

/** Most calls one submit makes after "too many items" refusals split its calls (a bound on a bad answer). */
const MAX_SPLITS = 16;

export function createCloudflareProvider(config: CloudflareCdnConfig, deps: CloudflareDeps): Provider {
  const base = config.baseUrl.replace(/\/+$/, '');
  const route = config.soft ? 'invalidate_cache' : 'purge_cache';
  const purgeUrl = `${base}/zones/${encodeURIComponent(config.zoneId)}/${route}`;
  const configured = capsOf(config);
  // What a "no more than N" refusal taught this process: the zone's real cap, below the configured one.
  const learned: CloudflareCaps = { ...configured };
  const headers = {
    authorization: `Bearer ${config.apiToken}`,
    accept: 'application/json',
  };

  function post(call: CloudflareCall, signal?: AbortSignal): Promise<HttpResponse> {
    return deps.http.send({
      method: 'POST',
      url: purgeUrl,
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(bodyOf(call)),
      ...(signal ? { signal } : {}),
    });
  }

  /** One call's answer: accepted (with Cloudflare's id), or the error it is. */
  function judge(response: HttpResponse, what: string): { envelope: CloudflareEnvelope } {
    const envelope = parseEnvelope(response.body);
    if (isSuccess(response.status) && envelope === undefined) {
      // A 2xx that is not the envelope is most often a body cut short: worth another try.
      throw new PurgeError(
        'CDN_BAD_RESPONSE',
        `${what}: HTTP ${response.status} with an unreadable body: ${bodyExcerpt(response.body, 80)}`,
        { retryable: true, httpStatus: response.status },
      );
    }
    if (isSuccess(response.status) && envelope?.success === true) return { envelope };
    throw refusalOf(response, envelope, what);
  }

  return {
    cdnId: config.id,
    name: 'cloudflare',
    capabilities: {
      kinds: CLOUDFLARE_KINDS,
      maxItemsPerCall: maxItemsPerCall(configured),
      maxTagsPerCall: configured.flex,
    },

    toBatches(target: PurgeTarget) {
      return splitIntoBatches(target, configured, config.id);
    },

    async submit(batch, signal) {
      const queue = toCalls(batch, learned, config.allHosts);
      const ids: (string | undefined)[] = [];
      let rateLimit: SubmitResult['rateLimit'];
      let splits = 0;
      for (let call = queue.shift(); call !== undefined; call = queue.shift()) {
        const what = `Cloudflare ${route} (${call.field}${call.items.length > 0 ? ` ×${call.items.length}` : ''})`;
        const response = await post(call, signal);
        try {
          const { envelope } = judge(response, what);
          ids.push(resultIdOf(envelope));
          const window = rateHeaderOf(response);
          if (window && (rateLimit === undefined || window.remaining <= rateLimit.remaining))
            rateLimit = window;
        } catch (error) {
          const allowed = tooManyItemsLimit(response, parseEnvelope(response.body));
          if (allowed !== undefined && call.items.length > 1 && splits < MAX_SPLITS) {
            // The zone takes fewer than configured (the 30-or-100 `files` uncertainty): split and resend.
            splits += 1;
            const size =
              allowed > 0 && allowed < call.items.length ? allowed : Math.ceil(call.items.length / 2);
            const family = call.field === 'files' ? 'files' : 'flex';
            learned[family] = Math.min(learned[family], size);
            const field = call.field as Exclude<CloudflareCall['field'], 'purge_everything'>;
            const pieces: CloudflareCall[] = [];
            for (let from = 0; from < call.items.length; from += size) {
              pieces.push({ field, items: call.items.slice(from, from + size) });
            }
            queue.unshift(...pieces);
            continue;
          }
          throw withProgress(error, ids.length, ids.length + queue.length + 1);
        }
      }
      const calls = ids.length === 1 ? 'the call' : `all ${ids.length} calls`;
      const note =
        `Cloudflare has no purge status: ${calls} answered success: true ("accepted", not "done"); ` +
        `counted done ${config.propagationMs} ms later (Instant Purge: under 150 ms at P50)`;
      return {
        remoteId: remoteIdFor(ids),
        doneAtAcceptance: { afterMs: config.propagationMs, note },
        ...(rateLimit ? { rateLimit } : {}),
      };
    },

    async status(remoteId) {
      // No HTTP call: Cloudflare has nothing to ask, and the id records that every call was accepted.
      const status = statusOfRemoteId(remoteId);
      if (status) return status;
      throw new PurgeError(
        'CDN_NOT_FOUND',
        `Cloudflare: ${remoteId.slice(0, 80)} is not a purge this provider made`,
      );
    },

    async check(signal): Promise<ProviderCheck> {
      const what = 'Cloudflare token verify';
      try {
        const response = await deps.http.send({
          method: 'GET',
          url: `${base}/user/tokens/verify`,
          headers,
          ...(signal ? { signal } : {}),
        });
        const { envelope } = judge(response, what);
        const state = (envelope.result as { status?: unknown } | null)?.status;
        if (state !== 'active')
          return { ok: false, detail: `${what}: token is ${String(state)}, not active` };
        // The token's zone permission is not something verify tells: the first purge shows it.
        return { ok: true, detail: `API token active (zone ${config.zoneId}, ${route})` };
      } catch (error) {
        return { ok: false, detail: error instanceof Error ? error.message : String(error) };
      }
    },

    async close() {},
  };
}

/** A call's error, saying how many of the submit's calls Cloudflare had already accepted (a retry resends them). */
function withProgress(error: unknown, accepted: number, total: number): unknown {
  if (!(error instanceof PurgeError) || total <= 1) return error;
  const message = `${error.message} (call ${accepted + 1} of ${total}; ${accepted} accepted before it)`;
  return new PurgeError(error.code, message, {
    retryable: error.retryable,
    cause: error,
    ...(error.httpStatus === undefined ? {} : { httpStatus: error.httpStatus }),
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
  });
}
