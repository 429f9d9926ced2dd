import { describe, expect, it } from 'vitest';
import { purgeTimelines } from '../../src/api/explorer/timeline.ts';
import type { PollEntry, PurgeStatus } from '../../src/model/status.ts';

const status: PurgeStatus = {
  id: 'p-1',
  state: 'running',
  createdAt: 1_000,
  request: { urls: 3, dirs: 0 },
  cdns: ['vims', 'quantil'],
  targets: {
    vims: { total: 3, succeeded: 0, failed: 0, timedOut: 0, pending: 3 },
    quantil: { total: 3, succeeded: 0, failed: 0, timedOut: 0, pending: 3 },
  },
  batches: [
    {
      batchId: 'vims-7',
      cdnId: 'vims',
      state: 'submitted',
      items: 40,
      purges: 12,
      share: 2,
      remoteId: '5001',
      attempts: 2,
      polls: 53,
      queuedAt: 1_250,
      submittedAt: 1_300,
      updatedAt: 9_000,
      error: 'HTTP 503',
      errorCode: 'CDN_UNAVAILABLE',
    },
  ],
};

describe("a purge's timeline per CDN", () => {
  it('tells its batch, who shared it, the remote id, the polls kept, and where it stands now', () => {
    const log: PollEntry[] = [
      { at: 8_000, polls: 52, progress: 40 },
      { at: 9_000, polls: 53, progress: 40, errorCode: 'CDN_UNAVAILABLE' },
    ];
    const [vims, quantil] = purgeTimelines(status, new Map([['vims-7', log]]));
    expect(vims?.events.map((event) => [event.at, event.text])).toEqual([
      [1_000, 'accepted: 3 targets for vims'],
      [
        1_250,
        "taken into batch vims-7: 40 targets in one call, 2 of them this purge's, with 11 other purges",
      ],
      [1_300, 'submitted: remote id 5001 (2 attempts)'],
      [undefined, '51 earlier polls not kept (the last 50 are)'],
      [8_000, 'poll 52: 40%'],
      [9_000, 'poll 53: 40% — CDN_UNAVAILABLE'],
      [undefined, 'now submitted: HTTP 503 (CDN_UNAVAILABLE)'],
      [undefined, '1 target waiting for a call to vims (the coalescing window, or a full queue)'],
    ]);
    expect(quantil?.events.map((event) => event.text)).toEqual([
      'accepted: 3 targets for quantil',
      '3 targets waiting for a call to quantil (the coalescing window, or a full queue)',
    ]);
  });
});
