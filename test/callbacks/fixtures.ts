import type { PurgeStatus } from '../../src/model/status.ts';

/** A finished purge whose callback goes to `callbackUrl`. */
export function finishedPurge(callbackUrl: string, id = 'p-callback'): PurgeStatus {
  return {
    id,
    state: 'succeeded',
    createdAt: 1_800_000_000_000,
    finishedAt: 1_800_000_001_000,
    request: { urls: 1, dirs: 0 },
    cdns: ['vims-main'],
    callbackUrl,
    targets: { 'vims-main': { total: 1, succeeded: 1, failed: 0, timedOut: 0, pending: 0 } },
    batches: [],
  };
}
