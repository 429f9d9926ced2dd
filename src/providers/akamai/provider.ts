import { PurgeError } from '../../errors.ts';
import type { PurgeTarget } from '../../model/purge.ts';
import { type HttpClient, type HttpResponse, isSuccess } from '../http.ts';
import type { Provider, ProviderCheck, SubmitResult } from '../provider.ts';
import { type Accepted, errorOf, estimateMs, rateLimitOf, readAccepted } from './answers.ts';
import { type AkamaiCdnConfig, purgeActionOf } from './config.ts';
import { edgeGridTimestamp, signEdgeGrid } from './edgegrid.ts';
import {
  type AkamaiCall,
  OBJECTS_PER_CALL,
  purgePath,
  remoteIdOf,
  splitIntoBatches,
  statusOfRemoteId,
  supportedKinds,
  toCalls,
} from './mapping.ts';

export interface AkamaiDeps {
  http: HttpClient;
  /** The clock requests are dated (and signed) with; Akamai refuses a skewed one. */
  now?: () => Date;
}

/** What `check` asks: the URL buckets' state, which needs the credentials and purges nothing. */
const RATE_LIMIT_STATUS_PATH = '/ccu/v3/rate-limit-status/url';

export function createAkamaiProvider(config: AkamaiCdnConfig, deps: AkamaiDeps): Provider {
  const resolved = purgeActionOf(config);
  if (!resolved.ok) throw new PurgeError('CONFIG_INVALID', `CDN ${config.id} (akamai): ${resolved.reason}`);
  const { action } = resolved;
  const base = new URL(config.baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const now = deps.now ?? (() => new Date());
  const options = { cdnId: config.id, maxBodyBytes: config.maxBodyBytes, allCpCodes: config.allCpCodes };
  const query = config.accountSwitchKey
    ? `?${new URLSearchParams({ accountSwitchKey: config.accountSwitchKey })}`
    : '';

  /** Signed immediately before sending, over the exact path, query and body sent. */
  function post(path: string, body: string | undefined, signal?: AbortSignal): Promise<HttpResponse> {
    const pathAndQuery = `${prefix}${path}${query}`;
    const authorization = signEdgeGrid(
      {
        method: 'POST',
        scheme: base.protocol.slice(0, -1),
        host: base.host,
        pathAndQuery,
        ...(body === undefined ? {} : { body }),
      },
      config,
      { timestamp: edgeGridTimestamp(now()) },
    );
    const headers: Record<string, string> = { authorization, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return deps.http.send({
      method: 'POST',
      url: `${base.origin}${pathAndQuery}`,
      headers,
      ...(body === undefined ? {} : { body }),
      ...(signal ? { signal } : {}),
    });
  }

  async function send(
    call: AkamaiCall,
    signal?: AbortSignal,
  ): Promise<{ accepted: Accepted; response: HttpResponse }> {
    const path = purgePath(action, call.type, config.network);
    const what = `Akamai ${action}/${call.type} (${config.network}, ${call.objects.length} objects)`;
    const response = await post(path, call.body, signal);
    if (!isSuccess(response.status)) throw errorOf(response, what);
    return { accepted: readAccepted(response, what), response };
  }

  return {
    cdnId: config.id,
    name: 'akamai',
    capabilities: {
      kinds: supportedKinds(options),
      maxItemsPerCall: OBJECTS_PER_CALL.url,
      maxTagsPerCall: OBJECTS_PER_CALL.tag,
      // A cheap bound the take checks in Redis: each URL's regex-escaped length + 1 is at least its JSON
      // bytes (quotes and comma: every URL has three `/` the count doubles), so what fits it fits one body.
      maxTargetCharsPerCall: config.maxBodyBytes - Buffer.byteLength('{"objects":[]}'),
      targetCharsOf: 'url',
    },

    toBatches(target: PurgeTarget) {
      return splitIntoBatches(target, options);
    },

    async submit(batch, signal): Promise<SubmitResult> {
      // A coalesced batch may hold URLs and tags (one object type per request): one call each, in order. If a
      // later one fails the earlier ones stand, and the retry sends them again: purges are safe to repeat.
      const accepted: Accepted[] = [];
      let last: HttpResponse | undefined;
      for (const call of toCalls(batch, options)) {
        const sent = await send(call, signal);
        accepted.push(sent.accepted);
        last = sent.response;
      }
      const seconds = Math.max(...accepted.map((a) => a.estimatedSeconds));
      const afterMs = estimateMs(seconds);
      const ids = accepted.map((a) => a.purgeId).join(', ');
      const note =
        `Akamai Fast Purge v3 has no status endpoint: counted done ${afterMs / 1000}s after acceptance ` +
        `(estimatedSeconds ${seconds}${afterMs < seconds * 1000 ? `, capped` : ''}); purgeId ${ids}`;
      const rateLimit = last ? rateLimitOf(last) : undefined;
      return {
        remoteId: remoteIdOf(accepted),
        requestId: accepted.map((a) => a.supportId).join(','),
        doneAtAcceptance: { afterMs, note },
        ...(rateLimit ? { rateLimit } : {}),
      };
    },

    async status(remoteId) {
      // No pretend polling: v3 has nothing to ask, and the id records what was accepted.
      const status = statusOfRemoteId(remoteId);
      if (status) return status;
      throw new PurgeError('CDN_NOT_FOUND', `Akamai: ${remoteId} is not a purge this provider made`);
    },

    async check(signal): Promise<ProviderCheck> {
      const response = await post(RATE_LIMIT_STATUS_PATH, undefined, signal);
      if (isSuccess(response.status)) {
        const left = response.headers['x-ratelimit-remaining'];
        const objects = response.headers['x-ratelimit-remaining-objects'];
        const detail = `credentials accepted (${config.network}); tokens left: ${left ?? '?'} requests, ${objects ?? '?'} URL objects`;
        return { ok: true, detail };
      }
      const error = errorOf(response, 'Akamai rate-limit-status');
      if (error.code === 'CDN_AUTH') return { ok: false, detail: error.message };
      throw error;
    },

    async close() {},
  };
}
