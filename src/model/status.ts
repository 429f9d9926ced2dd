import type { ErrorCode } from '../errors.ts';
import type { Priority } from './purge.ts';

/** Where one CDN batch stands. Terminal states are final: the status store never leaves them. */
export const BATCH_STATES = [
  'queued',
  'submitting',
  'submitted',
  /** The CDN reported it done; its edges are being checked (and stale URLs re-purged): cdns[].verify. */
  'verifying',
  'succeeded',
  'failed',
  'timed_out',
  /** The CDN reported it done, but edges kept serving the old copy after every re-purge allowed. */
  'stale',
] as const;
export type BatchState = (typeof BATCH_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<BatchState> = new Set([
  'succeeded',
  'failed',
  'timed_out',
  'stale',
]);

export function isTerminal(state: BatchState): boolean {
  return TERMINAL_STATES.has(state);
}

export type PurgeState = 'queued' | 'running' | 'succeeded' | 'failed' | 'timed_out';

/** A purge's verification, per CDN that checks its edges: the state of its batches taken together. */
export type CdnVerification = 'checking' | 'fresh' | 'unverified' | 'stale' | 'skipped';

export interface BatchStatus {
  batchId: string;
  cdnId: string;
  state: BatchState;
  items: number;
  /** The most urgent lane among the targets it carries. */
  lane?: Priority;
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
  /** When the oldest target it carries was accepted. */
  acceptedAt?: number;
  /** When the batch ends `timed_out` if it has not ended otherwise (its oldest target's deadline). */
  deadlineAt?: number;
  /** How many purges this CDN call carries (coalescing puts the targets of many purges in one). */
  purges?: number;
  /** What checking its edges found, on a CDN with `verify` on (absent otherwise). */
  verification?: BatchVerification;
  /**
   * Set when the CDN has no status to poll (Fastly, Cloudflare, Akamai Fast Purge, Varnish): how the batch is
   * judged done (at its acceptance, after the CDN's own estimate), in the provider's words.
   */
  completion?: string;
}

/** One URL as one edge served it, judged: what a verification shows of what it found. */
export interface EdgeCheck {
  url: string;
  /** The edge asked: `address:port`, with its name where the listing or config gives one. */
  edge: string;
  verdict: 'fresh' | 'stale' | 'unverified';
  reason: string;
}

/**
 * Where checking a batch at its edges stands: `waiting` (for the first check, or a repeat purge), `repurging`
 * (stale URLs sent again, then checked again); at the end `fresh` (every check fresh), `unverified` (none
 * stale, some undecided: no Age, an error, a timeout), `stale` (edges kept the old copy) or `skipped`
 * (nothing to check: no URL in the batch, verification turned off since).
 */
export interface BatchVerification {
  state: 'waiting' | 'repurging' | 'fresh' | 'unverified' | 'stale' | 'skipped';
  /** Check rounds done (the first, and one after each re-purge). */
  rounds: number;
  /** Re-purges sent (each a purge of its own, `repurgeOf` this batch). */
  repurges: number;
  repurgeIds?: string[];
  /** When the last round was checked. */
  checkedAt?: number;
  /** The edges the last round asked. */
  edges?: string[];
  /** The last round's verdicts, URL by edge. */
  counts?: { fresh: number; stale: number; unverified: number };
  /** The last round's stale and undecided checks (at most 20 each): which edge kept which URL. */
  stale?: EdgeCheck[];
  unverified?: EdgeCheck[];
  /** From the oldest target's acceptance to the round that found every check fresh. */
  secondsToFresh?: number;
  /** Why the verification ended as it did, or what it waits for. */
  note?: string;
}

/** One poll of a batch's CDN task, as the batch's record kept it (its last 50 polls). */
export interface PollEntry {
  at: number;
  /** Which poll it was (1 for the first). */
  polls: number;
  progress?: number;
  /** Set when the poll failed (the CDN unreachable, say), or ended the batch. */
  errorCode?: ErrorCode;
}

/** A batch as one purge sees it: the batch, and how many of this purge's targets it carries. */
export interface PurgeBatchStatus extends BatchStatus {
  share: number;
}

/** Per CDN, where a purge's targets stand; `pending` are waiting for a CDN call or in one not yet ended. */
export interface TargetCounts {
  total: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  pending: number;
}

export interface PurgeStatus {
  id: string;
  state: PurgeState;
  createdAt: number;
  finishedAt?: number;
  request: { urls: number; dirs: number; pattern?: string; all?: boolean };
  cdns: string[];
  /** Its lane (absent on a purge accepted before lanes existed: it went as normal). */
  priority?: Priority;
  /** Its first target (a URL, dir, `pattern …` or `all`), up to 200 characters: what a list shows of it. */
  label?: string;
  /** The purge this one sends again: set on a replay (POST /v1/purges/:id/replay). */
  replayOf?: string;
  /** Where the final status is POSTed once the purge is terminal. */
  callbackUrl?: string;
  /** Per CDN id: how many of the purge's targets are done, failed, timed out or still pending. */
  targets: Record<string, TargetCounts>;
  /** The CDN calls that carry (or carried) the purge's targets, by CDN, oldest first. */
  batches: PurgeBatchStatus[];
  /** Set on a re-purge verification sent: the batch whose edges served a stale copy. */
  repurgeOf?: string;
  /**
   * Per CDN that verifies (cdns[].verify): the worst of its batches' verifications. Absent when no CDN of
   * the purge verifies.
   */
  verification?: Record<string, CdnVerification>;
  /** With `verification`: true once every such CDN's edges were all checked fresh. */
  verified?: boolean;
}

const VERIFICATION_ORDER: readonly CdnVerification[] = [
  'stale',
  'checking',
  'unverified',
  'skipped',
  'fresh',
];

/** Per CDN, the worst verification among its batches (stale, then still checking, undecided, skipped). */
export function verificationOf(
  batches: readonly BatchStatus[],
): Pick<PurgeStatus, 'verification' | 'verified'> {
  const byCdn: Record<string, CdnVerification> = {};
  for (const batch of batches) {
    const found = batch.verification;
    if (!found) continue;
    const state: CdnVerification =
      found.state === 'waiting' || found.state === 'repurging' ? 'checking' : found.state;
    const before = byCdn[batch.cdnId];
    if (before === undefined || VERIFICATION_ORDER.indexOf(state) < VERIFICATION_ORDER.indexOf(before))
      byCdn[batch.cdnId] = state;
  }
  const states = Object.values(byCdn);
  if (states.length === 0) return {};
  return { verification: byCdn, verified: states.every((state) => state === 'fresh') };
}

/**
 * Overall state, from the per-CDN counts: terminal once no target is pending, and then the worst outcome
 * wins; before that `running` once any batch carrying it has left `queued`.
 */
export function aggregateState(
  targets: Readonly<Record<string, TargetCounts>>,
  batches: readonly BatchStatus[],
): PurgeState {
  const counts = Object.values(targets);
  if (counts.some((count) => count.pending > 0)) {
    return batches.some((batch) => batch.state !== 'queued') ? 'running' : 'queued';
  }
  if (counts.some((count) => count.failed > 0)) return 'failed';
  if (counts.some((count) => count.timedOut > 0)) return 'timed_out';
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
