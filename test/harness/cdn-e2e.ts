import { expect } from 'vitest';
import type { PurgeStatus } from '../../src/model/status.ts';
import { purgeThrough, type TestService } from './service.ts';

/**
 * A transient fault the test injected on the next submit (a 503): the batch is submitted once more and
 * succeeds, two submits in all, the fault used up.
 */
export async function expectRetriedThenSucceeded<Sent>(
  service: TestService,
  sent: () => readonly Sent[],
  pendingFaults: () => number,
): Promise<void> {
  const purged = await purgeThrough(service, sent, { urls: ['https://www.example.com/retry.html'] });
  expect(purged.status.state).toBe('succeeded');
  expect(purged.status.batches[0]).toMatchObject({ state: 'succeeded', attempts: 2 });
  expect(purged.sent.length).toBe(2);
  expect(pendingFaults()).toBe(0);
}

/**
 * A CDN entry whose credentials the CDN refuses: the batch fails at once with CDN_AUTH, one attempt and
 * one submit, its error naming the CDN's answer (`answer`) and never the credential (`secret`).
 */
export async function expectRefusedCredentials<Sent>(
  service: TestService,
  sent: () => readonly Sent[],
  cdnId: string,
  expected: { answer: string | RegExp; secret: string },
): Promise<PurgeStatus['batches'][number] | undefined> {
  const purged = await purgeThrough(service, sent, {
    urls: ['https://www.example.com/a.html'],
    cdns: [cdnId],
  });
  expect(purged.status.state).toBe('failed');
  const [batch] = purged.status.batches;
  expect(batch).toMatchObject({ cdnId, state: 'failed', attempts: 1, errorCode: 'CDN_AUTH' });
  expect(batch?.error).toMatch(expected.answer);
  expect(batch?.error).not.toContain(expected.secret);
  expect(purged.sent.length).toBe(1);
  return batch;
}
