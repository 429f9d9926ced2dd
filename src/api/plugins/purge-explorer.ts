import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, isPurgeError, PurgeError } from '../../errors.ts';
import { DEFAULT_LIST_LIMIT, parseListQuery } from '../../model/list-query.ts';
import { replayPurge } from '../../queue/replay.ts';
import type { Runtime } from '../../runtime.ts';
import { httpStatusOf } from '../errors.ts';
import { html } from '../explorer/html.ts';
import { page, STYLESHEET, STYLESHEET_PATH } from '../explorer/layout.ts';
import { type ListFilters, renderListPage } from '../explorer/list-page.ts';
import { purgeTimelines } from '../explorer/timeline.ts';
import { renderTimelinePage } from '../explorer/timeline-page.ts';
import { markRefused } from '../refusals.ts';
import { purgeIdParams } from '../schemas.ts';
import { EXPLORER_PATH } from './dashboard.ts';
import { type DashboardUsers, dashboardAuth } from './dashboard-auth.ts';

export interface ExplorerOptions {
  runtime: Runtime;
  users: DashboardUsers;
  readOnly: boolean;
}

/** No script, nothing from elsewhere, never framed: what is left to inject into has nothing to run. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // Same-origin requests keep their Referer, the replay form's fallback proof of where it came from.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

const FILTERS = ['state', 'cdn', 'since', 'url'] as const;

/**
 * The purge explorer at /admin/purges: recent purges with filters, and one purge's timeline per CDN, server
 * rendered from the list and status reads, behind the dashboard's basic auth. Replay is a POST form, allowed
 * only when the dashboard is not read-only, and only from this origin (a form on another site could make a
 * logged-in browser post it: basic auth is sent by the browser whoever asks).
 */
export async function purgeExplorerPlugin(
  app: FastifyInstance,
  { runtime, users, readOnly }: ExplorerOptions,
) {
  await dashboardAuth(app, users);
  app.addHook('onSend', async (_request, reply) => {
    reply.headers(SECURITY_HEADERS);
  });
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 4096 },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );
  app.setErrorHandler((error: FastifyError, request, reply) => errorPage(error, request, reply));
  const cdns = runtime.config.cdns.map((cdn) => cdn.id);

  app.get(STYLESHEET_PATH, async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'max-age=3600').send(STYLESHEET),
  );

  app.get(EXPLORER_PATH, async (request, reply) => {
    const given = request.query as Record<string, unknown>;
    const filters: ListFilters = {};
    for (const name of FILTERS)
      if (typeof given[name] === 'string' && given[name]) filters[name] = given[name];
    // An empty field of the form is no filter; anything else goes to the list API's own checks.
    const raw = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== ''));
    const view = { filters, cdns };
    let query: ReturnType<typeof parseListQuery>;
    try {
      query = parseListQuery(
        { limit: String(DEFAULT_LIST_LIMIT), ...raw },
        { now: Date.now(), cdns: new Set(cdns) },
      );
    } catch (error) {
      if (!isPurgeError(error)) throw error;
      markRefused(reply, error.code);
      return sendPage(reply, 400, renderListPage({ ...view, error: error.message }));
    }
    return sendPage(reply, 200, renderListPage({ ...view, result: await runtime.store.list(query) }));
  });

  app.get<{ Params: { id: string }; Querystring: { replayed?: string } }>(
    `${EXPLORER_PATH}/:id`,
    { schema: { params: purgeIdParams } },
    async (request, reply) => {
      const { id } = request.params;
      const status = await runtime.store.get(id);
      if (!status) throw new PurgeError('NOT_FOUND', `no purge ${id} (unknown, or its status expired)`);
      const [polls, plan] = await Promise.all([
        runtime.store.pollLogs(status.batches.map((batch) => batch.batchId)),
        runtime.store.getPlan(id),
      ]);
      const { replayed } = request.query;
      return sendPage(
        reply,
        200,
        renderTimelinePage({
          status,
          timelines: purgeTimelines(status, polls),
          targets: plan?.targets ?? {},
          canReplay: !readOnly,
          ...(replayed === 'new' || replayed === 'duplicate' ? { replayed } : {}),
        }),
      );
    },
  );

  app.post<{ Params: { id: string } }>(
    `${EXPLORER_PATH}/:id/replay`,
    { schema: { params: purgeIdParams } },
    async (request, reply) => {
      if (readOnly)
        throw new PurgeError(
          'DASHBOARD_ACTION_FORBIDDEN',
          'replay is not allowed: the dashboard is read-only (dashboard.readOnly)',
        );
      if (!fromThisOrigin(request))
        throw new PurgeError(
          'DASHBOARD_ACTION_FORBIDDEN',
          "replay refused: the request did not come from this dashboard's own page (its Origin or Referer names another site, or none)",
        );
      const form = (request.body ?? {}) as Record<string, unknown>;
      const all = form.all === '1';
      const result = await replayPurge(request.params.id, { all }, runtime);
      request.log.info(
        { purgeId: result.id, replayOf: result.replayOf, all, duplicate: result.duplicate },
        'purge replay accepted (dashboard)',
      );
      const location = `${EXPLORER_PATH}/${encodeURIComponent(result.id)}?replayed=${result.duplicate ? 'duplicate' : 'new'}`;
      return reply.code(303).header('location', location).send();
    },
  );
}

/**
 * Where a form post came from, as the browser says: Sec-Fetch-Site when it sends it, and the Origin (else
 * the Referer) naming this host. Neither present is refused: a page of ours always sends one.
 */
export function fromThisOrigin(request: FastifyRequest): boolean {
  const host = request.headers.host;
  const site = request.headers['sec-fetch-site'];
  if (!host || (site !== undefined && site !== 'same-origin')) return false;
  const source = request.headers.origin ?? request.headers.referer;
  if (typeof source !== 'string') return false;
  try {
    return new URL(source).host === host;
  } catch {
    return false;
  }
}

function sendPage(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(body);
}

/** Errors as pages, with the status the API would answer; the message is escaped like everything else. */
function errorPage(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  let status: number;
  let message: string;
  let code: ErrorCode;
  if (isPurgeError(error)) {
    status = httpStatusOf(error.code);
    message = error.message;
    code = error.code;
  } else if (error.validation) {
    status = 400;
    message = `${error.validationContext ?? 'request'}: ${error.message}`;
    code = 'REQUEST_INVALID';
  } else if (error.statusCode === 401) {
    status = 401;
    message = 'log in with a dashboard user (dashboard.users)';
    code = 'UNAUTHORIZED';
  } else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    status = error.statusCode;
    message = error.message;
    code = 'REQUEST_INVALID';
  } else {
    request.log.error({ err: error }, 'unexpected error (purge explorer)');
    status = 500;
    message = 'unexpected error; see the service log';
    code = 'INTERNAL';
  }
  markRefused(reply, code);
  const body = page(
    'Error',
    html`<h1>${String(status)}</h1><p class="error" role="alert">${message}</p><p><a href="${EXPLORER_PATH}">Back to purges</a></p>`,
  );
  return sendPage(reply, status, body);
}
