import type { ErrorCode } from '../errors.ts';

/** Where one CDN batch stands. Terminal states are final: the status store never leaves them. */
export const BATCH_STATES = [
  'queued',
  'submitting',
  'submitted',
  'succeeded',
  'failed',
  'timed_out',
] as const;
export type BatchState = (typeof BATCH_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<BatchState> = new Set(['succeeded', 'failed', 'timed_out']);

export function isTerminal(state: BatchState): boolean {
  return TERMINAL_STATES.has(state);
}

export type PurgeState = 'queued' | 'running' | 'succeeded' | 'failed' | 'timed_out';

export interface BatchStatus {
  batchId: string;
  cdnId: string;
  state: BatchState;
  items: number;
  remoteId?: string;
  /** 0..100 as the CDN reports it. */
  progress?: number;
  /** Submit calls made to the CDN, including retries and repeats after a crash. */
  attempts: number;
  polls: number;
  /** Why the batch failed, timed out or is being retried; cleared (with its code) once it no longer applies. */
  error?: string;
  /** The stable code of `error` (README's error table), for callers to branch on instead of the text. */
  errorCode?: ErrorCode;
  queuedAt: number;
  submittedAt?: number;
  finishedAt?: number;
  updatedAt: number;
}

export interface PurgeStatus {
  id: string;
  state: PurgeState;
  createdAt: number;
  finishedAt?: number;
  request: { urls: number; dirs: number; pattern?: string; all?: boolean };
  cdns: string[];
  /** Where the final status is POSTed once the purge is terminal. */
  callbackUrl?: string;
  batches: BatchStatus[];
}

/** Overall state: terminal only once every batch is; then the worst outcome wins. */
export function aggregateState(batches: readonly BatchStatus[]): PurgeState {
  if (batches.length === 0) return 'queued';
  if (!batches.every((batch) => isTerminal(batch.state))) {
    return batches.every((batch) => batch.state === 'queued') ? 'queued' : 'running';
  }
  if (batches.some((batch) => batch.state === 'failed')) return 'failed';
  if (batches.some((batch) => batch.state === 'timed_out')) return 'timed_out';
  return 'succeeded';
}

export function isPurgeFinished(state: PurgeState): boolean {
  return state === 'succeeded' || state === 'failed' || state === 'timed_out';
}

/** What a caller is shown: everything but where the callback goes (it may embed a caller's token). */
export function publicStatus(status: PurgeStatus): Omit<PurgeStatus, 'callbackUrl'> {
  const { callbackUrl: _hidden, ...visible } = status;
  return visible;
}
