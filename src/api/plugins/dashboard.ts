import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Runtime } from '../../runtime.ts';
import { sendError } from '../errors.ts';
import { ALLOWED_WRITES, dashboardRule } from './dashboard-actions.ts';
import { dashboardAuth } from './dashboard-auth.ts';

export const DASHBOARD_PATH = '/admin/queues';
export const EXPLORER_PATH = '/admin/purges';

export interface DashboardOptions {
  runtime: Runtime;
  users: ReadonlyArray<{ username: string; password: string }>;
  readOnly: boolean;
}

/**
 * bull-board over every purge-worker queue, in an encapsulated plugin whose own basic-auth hook guards
 * all of its routes (bull-board has no auth of its own), then an allow-list of its routes (see
 * dashboard-actions.ts): read-only unless configured otherwise, and even then only the writes that cannot
 * leave a purge unfinished. Job data holds no credentials, so nothing secret can show here.
 */
export async function dashboardPlugin(app: FastifyInstance, { runtime, users, readOnly }: DashboardOptions) {
  await dashboardAuth(app, users);
  const queues = new Map(runtime.queues().map((queue) => [queue.name, queue]));
  app.addHook('onRequest', (request, reply) => guardAction(request, reply, queues, readOnly));

  const serverAdapter = new FastifyAdapter().setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: runtime
      .queues()
      .map(
        (queue) =>
          new BullMQAdapter(queue, { readOnlyMode: readOnly, allowRetries: !readOnly, delimiter: ':' }),
      ),
    serverAdapter,
    // The header's menu links to the purge explorer: "where is my purge" is not a job question.
    options: {
      uiConfig: { boardTitle: 'purge-worker', miscLinks: [{ text: 'Purges', url: EXPLORER_PATH }] },
    },
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH });
}

/** Refuses, before bull-board sees it, any request its allow-list does not cover. */
async function guardAction(
  request: FastifyRequest,
  reply: FastifyReply,
  queues: ReadonlyMap<string, Queue>,
  readOnly: boolean,
): Promise<FastifyReply | undefined> {
  const route = (request.routeOptions.url ?? '').slice(DASHBOARD_PATH.length) || '/';
  const rule = dashboardRule(request.method, route, readOnly);
  const action = `${request.method} ${route}`;
  if (rule === undefined) {
    const why = readOnly
      ? 'the dashboard is read-only (dashboard.readOnly)'
      : `the dashboard may only ${ALLOWED_WRITES}`;
    return forbid(reply, `${action} is not allowed: ${why}`);
  }
  if (rule.kind === 'read') return undefined;
  const params = request.params as Record<string, string | undefined>;
  if (rule.queueStatus && !rule.queueStatus.has(params.queueStatus ?? '')) {
    return forbid(reply, `${action} is not allowed for ${params.queueStatus} jobs: ${ALLOWED_WRITES}`);
  }
  if (rule.jobState) {
    const queue = queues.get(params.queueName ?? '');
    const state = queue && params.jobId ? await queue.getJobState(params.jobId) : 'unknown';
    if (state === 'unknown') {
      return sendError(reply, 'NOT_FOUND', `no job ${params.jobId} in queue ${params.queueName}`);
    }
    // Crash window, of sorts: the state can change between this look and bull-board's action (a failed
    // job retried by someone else at that moment). Completed never changes, and failed only by a retry.
    if (!rule.jobState.has(state)) {
      return forbid(reply, `${action} is not allowed for a job that is ${state}: ${ALLOWED_WRITES}`);
    }
  }
  return undefined;
}

function forbid(reply: FastifyReply, message: string): FastifyReply {
  return sendError(reply, 'DASHBOARD_ACTION_FORBIDDEN', message);
}
