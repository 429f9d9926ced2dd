import type { ErrorCode } from '../errors.ts';

/**
 * Why a purge did not succeed, in the few classes an operator alerts on: the CDN account's quota, the CDN
 * refusing the request (credentials, a 4xx), the CDN failing it (its task failed, or it could not be reached
 * or answer in all our attempts), the deadline, edges that kept the old copy (`stale`, cdns[].verify);
 * `other` for our side (a batch abandoned by a crash).
 */
export type ReasonClass = 'none' | 'quota' | 'cdn_refused' | 'cdn_failed' | 'timed_out' | 'stale' | 'other';

export const REASON_CLASSES: readonly ReasonClass[] = [
  'none',
  'quota',
  'cdn_refused',
  'cdn_failed',
  'timed_out',
  'stale',
  'other',
];

const CLASS_OF: Partial<Record<ErrorCode, ReasonClass>> = {
  QUOTA_EXCEEDED: 'quota',
  CDN_REJECTED: 'cdn_refused',
  CDN_AUTH: 'cdn_refused',
  CDN_NOT_FOUND: 'cdn_refused',
  KIND_UNSUPPORTED: 'cdn_refused',
  REQUEST_INVALID: 'cdn_refused',
  CDN_TASK_FAILED: 'cdn_failed',
  CDN_UNAVAILABLE: 'cdn_failed',
  CDN_NETWORK: 'cdn_failed',
  CDN_TIMEOUT: 'cdn_failed',
  CDN_RATE_LIMITED: 'cdn_failed',
  CDN_BUSY: 'cdn_failed',
  CDN_BAD_RESPONSE: 'cdn_failed',
  DEADLINE_EXCEEDED: 'timed_out',
  STALE_AT_EDGE: 'stale',
  REPURGE_FAILED: 'cdn_failed',
};

/** The class of a purge's end, from its state and the code its first failed (or timed-out) batch ended with. */
export function reasonClass(state: 'succeeded' | 'failed' | 'timed_out', code?: ErrorCode): ReasonClass {
  if (state === 'succeeded') return 'none';
  if (state === 'timed_out') return 'timed_out';
  return (code && CLASS_OF[code]) || 'other';
}
