/** Example answers of the purge routes for the OpenAPI document (shapes from README's HTTP API section). */
export const ACCEPTED = { id: '6f1c2a', cdns: ['vims-main', 'quantil-main'] };

const TARGETS = {
  'vims-main': { total: 1, succeeded: 1, failed: 0, timedOut: 0, pending: 0 },
  'quantil-main': { total: 1, succeeded: 0, failed: 0, timedOut: 0, pending: 1 },
};

export const RUNNING_STATUS = {
  id: '6f1c2a',
  state: 'running',
  createdAt: 1795625094116,
  priority: 'normal',
  label: 'https://www.example.com/news/today.html',
  request: { urls: 1, dirs: 0 },
  cdns: ['vims-main', 'quantil-main'],
  targets: TARGETS,
  batches: [
    {
      batchId: 'quantil-main-12',
      cdnId: 'quantil-main',
      state: 'submitted',
      remoteId: '3315965a',
      progress: 40,
      attempts: 1,
      polls: 2,
      items: 37,
      purges: 35,
      share: 1,
      lane: 'normal',
      acceptedAt: 1795625094116,
      queuedAt: 1795625094367,
      deadlineAt: 1795625994116,
      submittedAt: 1795625094380,
      updatedAt: 1795625095410,
    },
    {
      batchId: 'vims-main-9',
      cdnId: 'vims-main',
      state: 'succeeded',
      remoteId: '5001',
      progress: 100,
      attempts: 1,
      polls: 3,
      items: 37,
      purges: 35,
      share: 1,
      lane: 'normal',
      acceptedAt: 1795625094116,
      queuedAt: 1795625094366,
      deadlineAt: 1795625994116,
      submittedAt: 1795625094375,
      finishedAt: 1795625097301,
      updatedAt: 1795625097301,
      verification: {
        state: 'fresh',
        rounds: 1,
        repurges: 0,
        checkedAt: 1795625097801,
        edges: ['127.0.0.1:40111 (vims-edge-1)', '127.0.0.1:40112 (vims-edge-2)'],
        counts: { fresh: 2, stale: 0, unverified: 0 },
        secondsToFresh: 3.7,
      },
    },
  ],
  verification: { 'vims-main': 'fresh' },
  verified: true,
};

export const FORECAST = {
  targets: { urls: 2, dirs: 1, tags: 0, pattern: 0, all: 0 },
  alreadyPending: { urls: 1, dirs: 0, tags: 0, pattern: 0, all: 0 },
  pending: 37,
  perCall: { maxItems: 100 },
  calls: [{ urls: 38, dirs: 1, tags: 0, pattern: 0, all: 0, fromThisRequest: 3 }],
  callsComplete: true,
  quota: {
    limited: true,
    day: '2026-06-01',
    urls: { limit: 5000, used: 37, charge: 1, left: 4963 },
    dirs: { limit: 500, used: 0, charge: 1, left: 500 },
  },
};
