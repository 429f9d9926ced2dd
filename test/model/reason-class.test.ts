import { describe, expect, it } from 'vitest';
import { reasonClass } from '../../src/model/reason-class.ts';

describe('the reason class of an ended purge', () => {
  it.each([
    ['succeeded', undefined, 'none'],
    ['timed_out', 'DEADLINE_EXCEEDED', 'timed_out'],
    ['timed_out', undefined, 'timed_out'],
    ['failed', 'QUOTA_EXCEEDED', 'quota'],
    ['failed', 'CDN_REJECTED', 'cdn_refused'],
    ['failed', 'CDN_AUTH', 'cdn_refused'],
    ['failed', 'CDN_NOT_FOUND', 'cdn_refused'],
    ['failed', 'CDN_TASK_FAILED', 'cdn_failed'],
    ['failed', 'CDN_UNAVAILABLE', 'cdn_failed'],
    ['failed', 'CDN_NETWORK', 'cdn_failed'],
    ['failed', 'BATCH_ABANDONED', 'other'],
    ['failed', 'INTERNAL', 'other'],
    ['failed', undefined, 'other'],
  ] as const)('%s with %s is %s', (state, code, expected) => {
    expect(reasonClass(state, code)).toBe(expected);
  });
});
