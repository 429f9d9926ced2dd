/**
 * What the dashboard may do, as an allow-list of bull-board routes (method and route pattern, relative to
 * the dashboard's path). Anything it does not name is refused, so a route a bull-board upgrade adds is
 * refused until someone decides about it here.
 *
 * Writes are few because a batch counts down the purges it carries only when its job ends it: a job that is
 * added, edited (`update-data` could point it at another batch), removed before it ended, or lost to
 * `empty`/`obliterate` leaves its purges unfinished until the reconciler notices (and a flush lost with its
 * pending targets is only re-made by the next sweep). A job that has ended (completed or failed) can be cleaned, a failed
 * one retried and a delayed one (a poll or a backoff) promoted to run now: none of that leaves a batch
 * without its job. Pausing, rate limits, concurrency and schedulers are configuration, not dashboard work.
 */

export type DashboardRule =
  | { kind: 'read' }
  | {
      kind: 'write';
      /** Allowed only when the route's `:queueStatus` is one of these. */
      queueStatus?: ReadonlySet<string>;
      /** Allowed only when the job named by `:jobId` is in one of these states. */
      jobState?: ReadonlySet<string>;
    };

const ENDED = new Set(['completed', 'failed']);
const FAILED = new Set(['failed']);

/** The UI's pages and assets, and bull-board's read-only API calls (bull-board 9.10). */
const READS = [
  '/',
  '/metrics-history',
  '/job-schedulers',
  '/queue/:queueName',
  '/queue/:queueName/:jobId',
  '/static/*',
  '/api/redis/stats',
  '/api/queues',
  '/api/job-schedulers',
  '/api/queues/:queueName/metrics',
  '/api/queues/:queueName/default-job-options',
  '/api/queues/:queueName/workers',
  '/api/queues/:queueName/rate-limit',
  '/api/queues/:queueName/job-data-schema',
  '/api/queues/:queueName/:jobId/logs',
  '/api/queues/:queueName/:jobId/flow',
  '/api/queues/:queueName/:jobId',
];

/** Writes of `dashboard.readOnly: false`, each with the states it is limited to. */
const WRITES: Record<string, DashboardRule> = {
  'PUT /api/queues/:queueName/:jobId/retry': { kind: 'write', jobState: FAILED },
  'PUT /api/queues/:queueName/retry/:queueStatus': { kind: 'write', queueStatus: FAILED },
  'PUT /api/queues/:queueName/:jobId/promote': { kind: 'write' },
  'PUT /api/queues/:queueName/promote': { kind: 'write' },
  'PUT /api/queues/:queueName/:jobId/clean': { kind: 'write', jobState: ENDED },
  'PUT /api/queues/:queueName/clean/:queueStatus': { kind: 'write', queueStatus: ENDED },
};

/** What the dashboard's write mode allows, in README's words (also the refusal's hint). */
export const ALLOWED_WRITES = 'retry failed jobs, promote delayed jobs, clean completed and failed jobs';

const RULES = new Map<string, DashboardRule>(READS.map((route) => [`GET ${route}`, { kind: 'read' }]));

/**
 * The rule for a request, or undefined when it is refused outright. `route` is the matched pattern under
 * the dashboard's path (Fastify's `routeOptions.url` without the prefix); HEAD is treated as GET.
 */
export function dashboardRule(method: string, route: string, readOnly: boolean): DashboardRule | undefined {
  const key = `${method === 'HEAD' ? 'GET' : method} ${route}`;
  const read = RULES.get(key);
  if (read) return read;
  return readOnly ? undefined : WRITES[key];
}
