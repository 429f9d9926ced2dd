import { z } from 'zod';
import { badAnswer } from './errors.ts';
import { type ApiAnswer, createApiTransport } from './transport.ts';
import type {
  DryRunAnswer,
  ListOptions,
  ListPage,
  PurgeAccepted,
  PurgeClient,
  PurgeClientOptions,
  PurgeOptions,
  PurgeStatus,
} from './types.ts';
import { waitForEnd } from './wait.ts';

/** The API's idempotency keys: 1 to 256 characters; a header carries visible ASCII only. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,256}$/;

// Only what the client itself relies on is checked; the rest of an answer passes as the API sent it.
const acceptedSchema = z.looseObject({
  id: z.string(),
  cdns: z.array(z.string()),
  duplicate: z.boolean().optional(),
});
const statusSchema = z.looseObject({
  id: z.string(),
  state: z.enum(['queued', 'running', 'succeeded', 'failed', 'timed_out']),
});
const pageSchema = z.looseObject({ purges: z.array(z.looseObject({ id: z.string() })) });
const dryRunSchema = z.looseObject({ dryRun: z.literal(true), outcome: z.string() });

/**
 * A typed client of the purge-worker HTTP API (README "HTTP API"): purge, dry run, status, list, and
 * waiting for a purge to end. Every failure is a PurgeApiError carrying the API's code and status, or a
 * PurgeWaitTimeoutError from waitFor.
 */
export function createPurgeClient(options: PurgeClientOptions): PurgeClient {
  const api = createApiTransport(options);

  function checked<T>(answer: ApiAnswer, schema: z.ZodType, where: string, what: string): T {
    if (!schema.safeParse(answer.body).success) throw badAnswer(where, answer.status, `not ${what}`);
    return answer.body as T;
  }

  function idempotencyHeader(key: string | undefined): Record<string, string> {
    if (key === undefined) return {};
    if (!IDEMPOTENCY_KEY.test(key))
      throw new TypeError('idempotencyKey must be 1 to 256 visible ASCII characters');
    return { 'idempotency-key': key };
  }

  async function status(id: string, { signal }: { signal?: AbortSignal | undefined } = {}) {
    const answer = await api.call({ method: 'GET', path: `/v1/purges/${encodeURIComponent(id)}`, signal });
    return checked<PurgeStatus>(answer, statusSchema, 'GET /v1/purges/:id', 'a purge status');
  }

  return {
    async purge(request, { idempotencyKey, signal }: PurgeOptions = {}) {
      const answer = await api.call({
        method: 'POST',
        path: '/v1/purges',
        body: request,
        headers: idempotencyHeader(idempotencyKey),
        signal,
      });
      const accepted = checked<PurgeAccepted>(answer, acceptedSchema, 'POST /v1/purges', 'an accepted purge');
      return { id: accepted.id, cdns: accepted.cdns, duplicate: accepted.duplicate === true };
    },

    async dryRun(request, { idempotencyKey, signal }: PurgeOptions = {}) {
      const answer = await api.call({
        method: 'POST',
        path: '/v1/purges',
        body: { ...request, dryRun: true },
        headers: idempotencyHeader(idempotencyKey),
        signal,
      });
      return checked<DryRunAnswer>(answer, dryRunSchema, 'POST /v1/purges', 'a dry run answer');
    },

    status,

    async list({ signal, ...filters }: ListOptions = {}) {
      const query = listQuery(filters);
      const answer = await api.call({ method: 'GET', path: `/v1/purges${query}`, signal });
      return checked<ListPage>(answer, pageSchema, 'GET /v1/purges', 'a page of purges');
    },

    waitFor: (id, waitOptions = {}) => waitForEnd((signal) => status(id, { signal }), id, waitOptions),

    close: () => api.close(),
  };
}

/** The list filters as GET /v1/purges reads them: lists comma-separated, a Date as ISO 8601. */
function listQuery(filters: Omit<ListOptions, 'signal'>): string {
  const params = new URLSearchParams();
  const add = (name: string, value: unknown) => {
    if (value === undefined) return;
    if (Array.isArray(value)) params.set(name, value.join(','));
    else if (value instanceof Date) params.set(name, value.toISOString());
    else params.set(name, String(value));
  };
  add('state', filters.state);
  add('cdn', filters.cdn);
  add('since', filters.since);
  add('until', filters.until);
  add('url', filters.url);
  add('limit', filters.limit);
  add('cursor', filters.cursor);
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}
