import { PurgeError } from '../../errors.ts';
import { type PurgeTarget, targetKinds } from '../../model/purge.ts';
import { failureOfCalls, runBounded } from '../fan-out.ts';
import { type HttpClient, isSuccess } from '../http.ts';
import type { Provider, ProviderCheck, SubmitResult } from '../provider.ts';
import { FASTLY_MAX_KEYS_PER_CALL, type FastlyCdnConfig } from './config.ts';
import {
  FASTLY_KINDS,
  type FastlyRequest,
  purgeIdsForLog,
  refuseUnsupported,
  remoteIdFor,
  splitIntoBatches,
  statusOfRemoteId,
  toRequests,
} from './mapping.ts';
import { batchPurgeIdsOf, errorOf, purgeAllAccepted, purgeIdOf, rateLimitOf } from './wire.ts';

export interface FastlyDeps {
  http: HttpClient;
  /** The clock `Fastly-RateLimit-Reset` (UTC epoch seconds) is read against. */
  now?: () => number;
}

/** The surrogate key `check` soft-purges: no origin tags an object with it, and a soft purge only marks stale. */
export const CHECK_KEY = 'purge-worker-check';

interface CallResult {
  purgeIds: string[];
  rateLimit: SubmitResult['rateLimit'];
}

export function createFastlyProvider(config: FastlyCdnConfig, deps: FastlyDeps): Provider {
  const base = config.baseUrl.replace(/\/+$/, '');
  const now = deps.now ?? Date.now;

  function describe(request: FastlyRequest): string {
    if (request.kind === 'url') return request.url;
    if (request.kind === 'keys') return `${request.keys.length} surrogate key(s)`;
    return 'purge_all';
  }

  async function send(request: FastlyRequest, signal?: AbortSignal): Promise<CallResult> {
    const headers: Record<string, string> = { 'fastly-key': config.token, accept: 'application/json' };
    if (request.soft) headers['fastly-soft-purge'] = '1';
    if (request.kind === 'keys') headers['content-type'] = 'application/json';
    const response = await deps.http.send({
      method: 'POST',
      url: `${base}${request.path}`,
      headers,
      ...(request.kind === 'keys' ? { body: request.body } : {}),
      ...(signal ? { signal } : {}),
    });
    const what = `Fastly ${request.kind === 'all' ? 'purge_all' : `purge of ${describe(request)}`}`;
    if (!isSuccess(response.status)) throw errorOf(response, what, now());
    const read = { url: purgeIdOf, keys: batchPurgeIdsOf, all: purgeAllAccepted }[request.kind];
    return { purgeIds: read(response.body, what), rateLimit: rateLimitOf(response, now()) };
  }

  return {
    cdnId: config.id,
    name: 'fastly',
    capabilities: {
      kinds: FASTLY_KINDS,
      maxItemsPerCall: config.maxItemsPerCall,
      maxTagsPerCall: FASTLY_MAX_KEYS_PER_CALL,
    },

    toBatches(target: PurgeTarget) {
      refuseUnsupported(config.id, targetKinds(target));
      return splitIntoBatches(target, config.maxItemsPerCall, FASTLY_MAX_KEYS_PER_CALL);
    },

    async submit(batch, signal) {
      refuseUnsupported(config.id, targetKinds(batch));
      const requests = toRequests(batch, config.serviceId, config.soft);
      const { results, failures } = await runBounded(
        requests,
        config.urlConcurrency,
        (request) => send(request, signal),
        describe,
      );
      const failure = failureOfCalls(failures, requests.length, {
        cdn: 'Fastly',
        calls: 'purge call(s)',
        singleAsIs: true,
      });
      if (failure) throw failure;
      const purgeIds = results.flatMap((result) => result.purgeIds);
      const rateLimit = tightest(results.flatMap((result) => (result.rateLimit ? [result.rateLimit] : [])));
      const requestId = purgeIdsForLog(purgeIds);
      return {
        remoteId: remoteIdFor(purgeIds, requests.length),
        ...(requestId === undefined ? {} : { requestId }),
        doneAtAcceptance: completion(batch.all === true, requests.length),
        ...(rateLimit ? { rateLimit } : {}),
      };
    },

    async status(remoteId) {
      // No pretend polling: Fastly has no status endpoint; its 200 was the acceptance, and the id records it.
      const status = statusOfRemoteId(remoteId);
      if (status) return status;
      throw new PurgeError('CDN_NOT_FOUND', `Fastly: ${remoteId} is not a purge this provider made`);
    },

    async check(signal): Promise<ProviderCheck> {
      const path = `/service/${encodeURIComponent(config.serviceId)}/purge/${CHECK_KEY}`;
      try {
        const response = await deps.http.send({
          method: 'POST',
          url: `${base}${path}`,
          headers: { 'fastly-key': config.token, accept: 'application/json', 'fastly-soft-purge': '1' },
          ...(signal ? { signal } : {}),
        });
        if (!isSuccess(response.status)) throw errorOf(response, 'Fastly key purge (check)', now());
        return {
          ok: true,
          detail: `token accepted for service ${config.serviceId} (soft key purge answered 2xx)`,
        };
      } catch (error) {
        return { ok: false, detail: error instanceof Error ? error.message : String(error) };
      }
    },

    async close() {},
  };

  function completion(all: boolean, calls: number): NonNullable<SubmitResult['doneAtAcceptance']> {
    if (all) {
      const afterMs = config.settleMs.purgeAll;
      const hard = config.soft ? '; hard, not soft: Fastly cannot soft-purge everything' : '';
      return {
        afterMs,
        note: `Fastly has no status endpoint: purge_all accepted${hard}; Fastly says purge-all completes across its edge in around 10-20 s, counted done ${afterMs} ms after acceptance`,
      };
    }
    const afterMs = config.settleMs.purge;
    const kind = config.soft ? 'soft purge' : 'purge';
    return {
      afterMs,
      note: `Fastly has no status endpoint: ${calls} ${kind} call(s) accepted; Fastly says URL and key purges complete across its edge in around 150 ms, counted done ${afterMs} ms after acceptance`,
    };
  }
}

/** Of several calls' windows, the one closest to spent (and, at a tie, the later reset). */
function tightest(windows: ReadonlyArray<NonNullable<SubmitResult['rateLimit']>>): SubmitResult['rateLimit'] {
  let chosen: SubmitResult['rateLimit'];
  for (const window of windows) {
    if (
      !chosen ||
      window.remaining < chosen.remaining ||
      (window.remaining === chosen.remaining && window.resetAfterMs > chosen.resetAfterMs)
    )
      chosen = window;
  }
  return chosen;
}
