/**
 * The OpenAPI parts of the unauthenticated operational routes (routes/health.ts, routes/metrics.ts). Their
 * answers are not the error body: a probe or a scraper reads the status and, at most, `status`.
 */
const NO_AUTH: never[] = [];

export const livenessDoc = {
  operationId: 'liveness',
  tags: ['Operations'],
  summary: 'Liveness: the process answers',
  security: NO_AUTH,
  response: {
    200: {
      description: 'the process answers',
      type: 'object',
      required: ['status'],
      properties: { status: { type: 'string', enum: ['ok'] } },
      examples: [{ status: 'ok' }],
    },
  },
} as const;

export const readinessDoc = {
  operationId: 'readiness',
  tags: ['Operations'],
  summary: 'Readiness: Redis answers and the config is loaded',
  description: 'Redis is asked (PING) within 2 s.',
  security: NO_AUTH,
  response: {
    200: {
      description: 'ready',
      type: 'object',
      required: ['status', 'cdns'],
      properties: {
        status: { type: 'string', enum: ['ready'] },
        cdns: { type: 'array', items: { type: 'string' }, description: 'the configured CDN ids' },
      },
      examples: [{ status: 'ready', cdns: ['vims-main', 'quantil-main'] }],
    },
    503: {
      description: 'Redis does not answer',
      type: 'object',
      required: ['status', 'reason'],
      properties: { status: { type: 'string', enum: ['unavailable'] }, reason: { type: 'string' } },
      examples: [{ status: 'unavailable', reason: 'Redis: Redis ping: no answer within 2000 ms' }],
    },
  },
} as const;

export const metricsDoc = {
  operationId: 'metrics',
  tags: ['Operations'],
  summary: 'Prometheus metrics',
  description:
    "This process's counters and the queue gauges, in Prometheus' text format (README, Metrics). Unauthenticated, like most exporters: keep the port internal.",
  security: NO_AUTH,
  response: {
    200: {
      description: 'Prometheus text exposition format 0.0.4',
      content: {
        'text/plain': {
          schema: { type: 'string' },
          example:
            '# HELP purge_worker_purges_accepted_total Purges accepted\n# TYPE purge_worker_purges_accepted_total counter\npurge_worker_purges_accepted_total 12\n',
        },
      },
    },
  },
} as const;
