import { PurgeError } from '../../errors.ts';
import { type PurgeTarget, type TargetKind, targetKinds } from '../../model/purge.ts';
import { type CallFailure, failureOfCalls, runBounded } from '../fan-out.ts';
import { bodyExcerpt, errorForStatus, type HttpClient, type HttpResponse, isSuccess } from '../http.ts';
import type { Provider, ProviderCheck } from '../provider.ts';
import { nodesOf, type VarnishCdnConfig } from './config.ts';
import {
  remoteIdFor,
  splitIntoBatches,
  statusOfRemoteId,
  toRequests,
  type VarnishRequest,
} from './mapping.ts';

export interface VarnishDeps {
  http: HttpClient;
}

/** The path `check` purges on every node: nothing is cached there, and a purge VCL still answers 200. */
export const CHECK_PATH = '/__purge-worker-check';

export function createVarnishProvider(config: VarnishCdnConfig, deps: VarnishDeps): Provider {
  const nodes = nodesOf(config);
  const kinds: ReadonlySet<TargetKind> = new Set<TargetKind>(
    config.hosts ? ['urls', 'dirs', 'pattern', 'all'] : ['urls', 'dirs'],
  );

  async function send(node: string, request: VarnishRequest, signal?: AbortSignal): Promise<void> {
    const headers: Record<string, string> = { host: request.host };
    if (request.ban !== undefined) headers[config.banHeader] = request.ban;
    if (config.secret) headers[config.secret.header] = config.secret.value;
    const response = await deps.http.send({
      method: request.method,
      url: `${node}${request.path}`,
      headers,
      ...(signal ? { signal } : {}),
    });
    // A 2xx is judged by its status alone: its body is vcl_synth's HTML and its Retry-After: 5 means nothing.
    if (!isSuccess(response.status)) throw nodeError(response, `${request.method} on ${node}`);
  }

  /** Every request to every node, nodes in parallel and at most `perNodeConcurrency` at once on each. */
  async function fanOut(requests: readonly VarnishRequest[], signal?: AbortSignal): Promise<void> {
    const perNode = await Promise.all(
      nodes.map(async (node) => {
        // A node that failed starts no more requests: the retry resends them all, to every node.
        const { failures } = await runBounded(
          requests,
          config.perNodeConcurrency,
          (request) => send(node, request, signal),
          () => node,
        );
        return failures.slice(0, 1);
      }),
    );
    const failures: CallFailure[] = perNode.flat();
    const failure = failureOfCalls(failures, nodes.length, { cdn: 'Varnish', calls: 'node(s)' });
    if (failure) throw failure;
  }

  return {
    cdnId: config.id,
    name: 'varnish',
    capabilities: { kinds, maxItemsPerCall: config.maxItemsPerCall },

    toBatches(target: PurgeTarget) {
      for (const kind of targetKinds(target)) {
        if (!kinds.has(kind)) {
          throw new PurgeError(
            'KIND_UNSUPPORTED',
            `CDN ${config.id} (varnish) cannot purge ${kind}${kind === 'pattern' || kind === 'all' ? ' without hosts' : ''}`,
          );
        }
      }
      const batches = splitIntoBatches(target, config.maxItemsPerCall);
      // Mapped once here so a pattern Varnish cannot take is refused at ingest, not on every attempt.
      for (const batch of batches) toRequests(batch, config.hosts);
      return batches;
    },

    async submit(batch, signal) {
      await fanOut(toRequests(batch, config.hosts), signal);
      const note = `Varnish answers once purged: all ${nodes.length} node(s) did, nothing to poll`;
      return { remoteId: remoteIdFor(nodes.length), doneAtAcceptance: { afterMs: 0, note } };
    },

    async status(remoteId) {
      // No pretend polling: submit returned only once every node had purged, and the id records that.
      const status = statusOfRemoteId(remoteId);
      if (status) return status;
      throw new PurgeError('CDN_NOT_FOUND', `Varnish: ${remoteId} is not a purge this provider made`);
    },

    async check(signal): Promise<ProviderCheck> {
      const host = config.hosts?.[0] ?? new URL(config.baseUrl).host;
      try {
        await fanOut([{ method: 'PURGE', path: CHECK_PATH, host }], signal);
        return { ok: true, detail: `${nodes.length} node(s) answered PURGE with 2xx` };
      } catch (error) {
        return { ok: false, detail: error instanceof Error ? error.message : String(error) };
      }
    },

    async close() {},
  };
}

/**
 * A node's refusal: 405 "Not allowed." (the documented PURGE ACL) and 403 (BAN, xkey) are the ACL or the
 * secret, fixed only by configuration; 501 is most often the origin answering a node without purge VCL
 * (builtin vcl_recv pipes unknown methods: inferred), also permanent. The rest as every provider reads them.
 */
function nodeError(response: HttpResponse, what: string): PurgeError {
  const reason = bodyExcerpt(response.body, 120);
  if (response.status === 405 || response.status === 403) {
    return new PurgeError(
      'CDN_AUTH',
      `${what}: HTTP ${response.status} — refused by the node's ACL (${reason})`,
      {
        httpStatus: response.status,
      },
    );
  }
  if (response.status === 501) {
    return new PurgeError('CDN_REJECTED', `${what}: HTTP 501 — does the node have purge VCL? (${reason})`, {
      httpStatus: 501,
    });
  }
  return errorForStatus(response, what, reason);
}
