import { PurgeError } from '../../errors.ts';
import type { PurgeTarget, TargetKind } from '../../model/purge.ts';
import {
  bodyExcerpt,
  errorForStatus,
  type HttpClient,
  type HttpResponse,
  isSuccess,
  readAnswer,
} from '../http.ts';
import type { Provider, ProviderCheck, RemoteStatus, SubmitResult } from '../provider.ts';
import type { QuantilCdnConfig } from './config.ts';
import { aggregateStatus, splitIntoBatches } from './mapping.ts';
import { authHeaders } from './signing.ts';
import { buildPurgeXml, parsePurgeIdFromXml, parseStatusXml } from './xml.ts';

export interface QuantilDeps {
  http: HttpClient;
  /** The clock that dates and signs requests; QUANTIL rejects a skewed one, so tests pin it to theirs. */
  now?: () => Date;
}

const PURGE_PATH = '/api/purge';
const DAY_MS = 24 * 60 * 60 * 1000;

export function createQuantilProvider(config: QuantilCdnConfig, deps: QuantilDeps): Provider {
  const base = config.baseUrl.replace(/\/+$/, '');
  const now = deps.now ?? (() => new Date());
  const kinds: ReadonlySet<TargetKind> = new Set<TargetKind>(
    config.domains ? ['urls', 'dirs', 'all'] : ['urls', 'dirs'],
  );

  function call(method: 'GET' | 'POST', path: string, body?: string, signal?: AbortSignal) {
    // Dated and signed per request, immediately before sending, so a retry never reuses a stale signature.
    const headers: Record<string, string> = {
      ...authHeaders(config.user, config.apiKey, now()),
      accept: 'application/xml',
    };
    if (body !== undefined) headers['content-type'] = 'application/xml';
    const request = { method, url: `${base}${path}`, headers, ...(signal ? { signal } : {}) };
    return deps.http.send(body === undefined ? request : { ...request, body });
  }

  /**
   * What a call sends of a batch. A coalesced batch that purges everything holds `all` itself (it superseded
   * whatever else was pending), and QUANTIL has no such call: it is a dir-url per domain root, in one call
   * (charged so at ingest). Sent as an empty list, QUANTIL refused it and the purge failed.
   */
  function sentItemsOf(batch: PurgeTarget): PurgeTarget {
    if (!batch.all) return batch;
    const [roots] = splitIntoBatches(
      { urls: [], dirs: [], all: true },
      {
        cdnId: config.id,
        maxItemsPerCall: Number.MAX_SAFE_INTEGER,
        domains: config.domains,
        rootScheme: config.rootScheme,
      },
    );
    return roots ?? batch;
  }

  return {
    cdnId: config.id,
    name: 'quantil',
    capabilities: {
      kinds,
      maxItemsPerCall: config.maxItemsPerCall,
      dailyQuota: { urls: 5000, dirs: 500 },
    },
    quotaAccount: config.user,

    toBatches(target: PurgeTarget) {
      return splitIntoBatches(target, {
        cdnId: config.id,
        maxItemsPerCall: config.maxItemsPerCall,
        domains: config.domains,
        rootScheme: config.rootScheme,
      });
    },

    async submit(batch, signal): Promise<SubmitResult> {
      const response = await call('POST', PURGE_PATH, buildPurgeXml(sentItemsOf(batch)), signal);
      if (!isSuccess(response.status)) {
        const reason = bodyExcerpt(response.body);
        // QUANTIL's quota refusal is a 403 like a credential one, but the cure differs: say which it is.
        if (response.status === 403 && /quota/i.test(reason)) {
          throw new PurgeError('QUOTA_EXCEEDED', `QUANTIL purge: HTTP 403 — ${reason}`, { httpStatus: 403 });
        }
        throw errorForStatus(response, 'QUANTIL purge', reason);
      }
      const remoteId = readAnswer(
        'QUANTIL purge',
        () => idFromLocation(header(response, 'location'), base) ?? parsePurgeIdFromXml(response.body),
      );
      if (remoteId === undefined) {
        // Accepted but unaddressable: retrying would purge again and still not be trackable, so it is final.
        throw new PurgeError(
          'CDN_BAD_RESPONSE',
          `QUANTIL purge: accepted (HTTP ${response.status}) but no purge id in Location header or body`,
          { retryable: false, httpStatus: response.status },
        );
      }
      const requestId = header(response, 'x-cnc-request-id');
      return requestId === undefined ? { remoteId } : { remoteId, requestId };
    },

    async status(remoteId, signal): Promise<RemoteStatus> {
      const response = await call('GET', `${PURGE_PATH}/${encodeURIComponent(remoteId)}`, undefined, signal);
      const what = `QUANTIL purge ${remoteId}`;
      if (!isSuccess(response.status)) throw errorForStatus(response, what, bodyExcerpt(response.body));
      return readAnswer(what, () => aggregateStatus(parseStatusXml(response.body).items));
    },

    async check(signal): Promise<ProviderCheck> {
      const to = now();
      const query = new URLSearchParams({
        datefrom: rfc3339(new Date(to.getTime() - DAY_MS)),
        dateto: rfc3339(to),
      });
      const response = await call('GET', `${PURGE_PATH}?${query}`, undefined, signal);
      if (isSuccess(response.status)) return { ok: true, detail: 'credentials accepted' };
      if (response.status === 401 || response.status === 403) {
        const reason = bodyExcerpt(response.body);
        return {
          ok: false,
          detail: `credentials refused for user ${config.user}: HTTP ${response.status}${reason ? ` — ${reason}` : ''}`,
        };
      }
      throw errorForStatus(response, 'QUANTIL purge list', bodyExcerpt(response.body));
    },

    async close() {},
  };
}

function header(response: HttpResponse, name: string): string | undefined {
  const value = response.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first.trim() === '' ? undefined : first.trim();
}

/** `.../api/purge/<id>`, absolute or relative; anything else is not taken as an id. */
export function idFromLocation(location: string | undefined, base: string): string | undefined {
  if (location === undefined) return undefined;
  let pathname: string;
  try {
    pathname = new URL(location, `${base}/`).pathname;
  } catch {
    return undefined;
  }
  const match = /\/api\/purge\/([^/]+)\/?$/.exec(pathname);
  if (match?.[1] === undefined) return undefined;
  try {
    const id = decodeURIComponent(match[1]);
    return id.trim() === '' ? undefined : id;
  } catch {
    return undefined;
  }
}

/** RFC 3339 without milliseconds (`2014-08-07T18:46:21Z`), the plainest form a server can accept. */
function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
