import { PurgeError } from '../../errors.ts';
import { type PurgeTarget, type TargetKind, targetKinds } from '../../model/purge.ts';
import {
  bodyExcerpt,
  errorForStatus,
  type HttpClient,
  type HttpResponse,
  isSuccess,
  readAnswer,
} from '../http.ts';
import type { ListedEdge, Provider, ProviderCheck, RemoteStatus } from '../provider.ts';
import { VIMS_TASK_PATHS, type VimsCdnConfig } from './config.ts';
import { edgesOfService, type VimsListedService } from './edges.ts';
import { mapTaskState, PATTERN_OVERHEAD, splitIntoBatches, toPurgeBody } from './mapping.ts';

const KINDS: ReadonlySet<TargetKind> = new Set(['urls', 'dirs', 'pattern', 'all']);

export interface VimsDeps {
  http: HttpClient;
}

export function createVimsProvider(config: VimsCdnConfig, deps: VimsDeps): Provider {
  const base = config.baseUrl.replace(/\/+$/, '');
  // The doc disagrees with itself on the status path; remember whichever answered so later polls go straight there.
  let statusPaths: string[] = [
    config.taskStatusPath,
    ...VIMS_TASK_PATHS.filter((p) => p !== config.taskStatusPath),
  ];

  async function call(method: 'GET' | 'POST', path: string, body: unknown, signal?: AbortSignal) {
    const headers: Record<string, string> = { authorization: config.token, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const request = { method, url: `${base}${path}`, headers, ...(signal ? { signal } : {}) };
    return deps.http.send(body === undefined ? request : { ...request, body: JSON.stringify(body) });
  }

  async function listServices(signal?: AbortSignal): Promise<VimsListedService[]> {
    const response = await call('GET', '/api/services/cdn/', undefined, signal);
    if (!isSuccess(response.status)) throw errorForStatus(response, 'VIMS services', vimsReason(response));
    const json = parseJson(response, 'VIMS services') as { data?: unknown };
    return Array.isArray(json.data) ? (json.data as VimsListedService[]) : [];
  }

  async function statusAt(path: string, remoteId: string, signal?: AbortSignal): Promise<RemoteStatus> {
    const response = await call('GET', `${path}${encodeURIComponent(remoteId)}`, undefined, signal);
    if (!isSuccess(response.status))
      throw errorForStatus(response, `VIMS task ${remoteId}`, vimsReason(response));
    const what = `VIMS task ${remoteId}`;
    return readAnswer(what, () => {
      const json = parseJson(response, what) as { data?: unknown };
      if (json.data === null || typeof json.data !== 'object') {
        throw new PurgeError('CDN_BAD_RESPONSE', `${what}: response has no data object`, {
          retryable: true,
        });
      }
      return mapTaskState(json.data);
    });
  }

  return {
    cdnId: config.id,
    name: 'vims',
    capabilities: {
      kinds: KINDS,
      maxItemsPerCall: Number.POSITIVE_INFINITY,
      // Counted as splitIntoBatches counts them: the escaped subject (patternScope) and a separator each.
      maxTargetCharsPerCall: config.maxPatternLength - PATTERN_OVERHEAD,
      targetCharsOf: config.patternScope,
    },

    toBatches(target: PurgeTarget) {
      for (const kind of targetKinds(target)) {
        if (!KINDS.has(kind))
          throw new PurgeError('KIND_UNSUPPORTED', `CDN ${config.id} (vims) cannot purge ${kind}`);
      }
      return splitIntoBatches(target, config.patternScope, config.maxPatternLength);
    },

    async submit(batch, signal) {
      const body = toPurgeBody(batch, config.target, config.patternScope);
      const response = await call(
        'POST',
        `/api/services/cdn/${encodeURIComponent(config.cdnId)}/purge`,
        body,
        signal,
      );
      if (!isSuccess(response.status)) throw errorForStatus(response, 'VIMS purge', vimsReason(response));
      return readAnswer('VIMS purge', () => {
        const json = parseJson(response, 'VIMS purge') as {
          status?: unknown;
          task_id?: unknown;
          message?: unknown;
        };
        if (json.status === 'error') {
          throw new PurgeError('CDN_REJECTED', `VIMS purge: ${String(json.message ?? 'rejected')}`, {
            httpStatus: response.status,
          });
        }
        if (typeof json.task_id !== 'number' && typeof json.task_id !== 'string') {
          throw new PurgeError('CDN_BAD_RESPONSE', 'VIMS purge: response has no task_id', {
            retryable: true,
          });
        }
        return { remoteId: String(json.task_id) };
      });
    },

    async status(remoteId, signal) {
      const [first, ...others] = statusPaths;
      try {
        return await statusAt(first as string, remoteId, signal);
      } catch (error) {
        if (!(error instanceof PurgeError) || error.code !== 'CDN_NOT_FOUND' || others.length === 0)
          throw error;
        for (const path of others) {
          try {
            const result = await statusAt(path, remoteId, signal);
            statusPaths = [path, ...statusPaths.filter((p) => p !== path)];
            return result;
          } catch (retry) {
            if (!(retry instanceof PurgeError) || retry.code !== 'CDN_NOT_FOUND') throw retry;
          }
        }
        throw error;
      }
    },

    async listEdges(signal): Promise<ListedEdge[]> {
      return edgesOfService(await listServices(signal), config.cdnId, config.target);
    },

    async check(signal): Promise<ProviderCheck> {
      const services = (await listServices(signal)) as VimsService[];
      const service = services.find((s) => String(s.id) === config.cdnId);
      if (!service)
        return {
          ok: false,
          detail: `CDN service ${config.cdnId} not found among ${services.length} service(s)`,
        };
      const hosts = (service.sub_services ?? [])
        .filter((sub) => sub.type?.name === 'CDN_HOST' && sub.vm)
        .map((sub) => `${sub.vm?.id} (${sub.vm?.name})`);
      const targetOk = config.target === 'all' || hosts.some((h) => h.startsWith(`${config.target} `));
      const detail = `service ${config.cdnId} "${service.description ?? ''}", hosts: ${hosts.join(', ') || 'none'}`;
      return targetOk
        ? { ok: true, detail }
        : { ok: false, detail: `target ${config.target} is not a host of ${detail}` };
    },

    async close() {},
  };
}

interface VimsService {
  id?: unknown;
  description?: string;
  sub_services?: Array<{ type?: { name?: string }; vm?: { id?: unknown; name?: string } }>;
}

/** VIMS errors are `{"status":"error","message":...}`; proxies in front of it send text or HTML. */
function vimsReason(response: HttpResponse): string {
  try {
    const json = JSON.parse(response.body) as { message?: unknown };
    if (typeof json.message === 'string') return json.message;
  } catch {}
  return bodyExcerpt(response.body);
}

function parseJson(response: HttpResponse, what: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(response.body);
    if (value !== null && typeof value === 'object') return value as Record<string, unknown>;
  } catch {}
  // A 2xx whose body is not JSON is most often a cut-off body: worth another try.
  throw new PurgeError(
    'CDN_BAD_RESPONSE',
    `${what}: unreadable response body: ${bodyExcerpt(response.body, 80)}`,
    {
      retryable: true,
    },
  );
}
