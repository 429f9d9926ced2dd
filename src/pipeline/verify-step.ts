import type { VerifyConfig } from '../config/verify.ts';
import { isPurgeError } from '../errors.ts';
import { type Priority, type PurgeTarget, REPURGE_ID_PREFIX } from '../model/purge.ts';
import { type BatchVerification, type EdgeCheck, isPurgeFinished } from '../model/status.ts';
import { sampleUrls } from '../verify/sample.ts';
import { finish, NO_ERROR, ref } from './finish.ts';
import type { StepOutcome, TakenBatchJobData, VerifyJobState } from './job.ts';
import type { StepContext } from './step.ts';

/** What the verification step needs of the world: the CDN's settings, its edges, and a way to re-purge. */
export interface VerificationContext {
  config: VerifyConfig;
  /** Asks every edge for every URL once and judges each answer; never throws. */
  check(
    urls: readonly string[],
    acceptedAt: number,
  ): Promise<{ checks: EdgeCheck[]; edges: string[]; note?: string }>;
  /**
   * Sends `target` to this CDN again as a purge of its own (id `rp-...`, `repurgeOf` the batch), through
   * the pending set like any purge; the same `key` again gives the same purge. Returns its id.
   */
  repurge(target: PurgeTarget, of: { batchId: string; key: string; lane: Priority }): Promise<string>;
}

/** Most URLs one round asks (an urgent batch asks all of its URLs, up to this). */
export const MAX_CHECKED_URLS = 1_000;
/** Most stale and undecided checks a batch's status keeps of a round. */
const KEPT_CHECKS = 20;
/** How often a verification waiting on its re-purge looks at that purge (a read of its record). */
const REPURGE_LOOK_MS = 500;

type Verified = TakenBatchJobData & { verify: VerifyJobState };

/**
 * The CDN reported the batch done: instead of ending it, the job waits (`verify.delayMs`, or first the
 * repeat purge's `repeatAfterMs`) and then checks the edges. The batch's deadline becomes the verification's,
 * so the reconciler does not end a batch that is only being checked.
 * Crash windows: killed before checkpoint(), the re-run polls again and gets here again; after it, before
 * the record says `verifying`, the re-run is a verify step, which writes the record as it goes.
 */
export async function startVerification(
  data: TakenBatchJobData,
  ctx: StepContext & { verification: VerificationContext },
  polls: number,
): Promise<StepOutcome> {
  const { config } = ctx.verification;
  // A batch that carries only re-purges is checked by the batches that sent them: checked (or repeated)
  // here too, an edge that stays stale would start a re-purge of a re-purge, and so on.
  const carried = await ctx.store.batchTarget(data.batchId);
  if (
    carried &&
    carried.purgeIds.length > 0 &&
    carried.purgeIds.every((id) => id.startsWith(REPURGE_ID_PREFIX))
  ) {
    const note = 'it carries only re-purges, which the batches that sent them check';
    ctx.events?.emit('verify:finished', { cdnId: data.cdnId, outcome: 'skipped' });
    return finish(
      data,
      ctx,
      { state: 'succeeded' },
      { polls, verification: summary(undefined, 'skipped', note) },
    );
  }
  const now = ctx.now();
  const verify: VerifyJobState = {
    phase: config.repeatAfterMs === undefined ? 'check' : 'repeat',
    rounds: 0,
    repurges: 0,
    since: data.submittedAt ?? data.acceptedAt,
    deadlineAt: now + config.deadlineMs,
  };
  const until = now + (config.repeatAfterMs ?? config.delayMs);
  const next: Verified = { ...data, step: 'verify', polls: data.polls + polls, verify, readyAt: until };
  await ctx.checkpoint(next);
  const note =
    config.repeatAfterMs === undefined
      ? `the CDN reported it done; checking its edges in ${config.delayMs} ms`
      : `the CDN reported it done; purging again in ${config.repeatAfterMs} ms (verify.repeatAfterMs)`;
  await record(next, ctx, { state: 'waiting', rounds: 0, repurges: 0, note }, { polls });
  ctx.log.info({ phase: verify.phase, at: until }, 'purge done at the CDN; verification scheduled');
  return { kind: 'wait', until, data: next, persisted: true };
}

/** One run of a verifying batch: look at its re-purge, send its repeat purge, or check its edges. */
export async function verifyStep(data: TakenBatchJobData, ctx: StepContext): Promise<StepOutcome> {
  const { verify } = data;
  const verification = ctx.verification;
  if (!verify || !verification) {
    const note = 'verification was turned off for this CDN while the batch waited for it';
    return finish(data, ctx, { state: 'succeeded' }, { verification: summary(verify, 'skipped', note) });
  }
  const job: Verified = { ...data, verify };
  const context = { ...ctx, verification };
  if (verify.repurgeId !== undefined) return awaitRepurge(job, context, verify.repurgeId);
  if (verify.phase === 'repeat') return sendRepeat(job, context);
  return checkEdges(job, context);
}

type VerifyingContext = StepContext & { verification: VerificationContext };

/**
 * Waits for a re-purge (or the repeat purge) to end, reading its record: no CDN call, no quota.
 * It is a purge like any other, so it ends (its own deadlines), and this batch's deadline bounds the wait.
 */
async function awaitRepurge(data: Verified, ctx: VerifyingContext, repurgeId: string): Promise<StepOutcome> {
  const { verify } = data;
  const purge = await ctx.store.get(repurgeId);
  const now = ctx.now();
  if (purge && !isPurgeFinished(purge.state)) {
    if (now < verify.deadlineAt) return waitFor(data, Math.min(now + REPURGE_LOOK_MS, verify.deadlineAt));
    return endUnfixed(data, ctx, `its re-purge ${repurgeId} had not ended by verify.deadlineMs`);
  }
  const ended = purge ? purge.state : 'expired';
  if (ended !== 'succeeded') {
    if (verify.phase === 'repeat') {
      const reason = `the repeat purge ${repurgeId} (verify.repeatAfterMs) ended ${ended}`;
      return finish(
        data,
        ctx,
        { state: 'failed', reason, code: 'REPURGE_FAILED' },
        { verification: summary(verify, 'skipped', reason) },
      );
    }
    return endUnfixed(data, ctx, `its re-purge ${repurgeId} ended ${ended}`);
  }
  // Judged from when the CDN accepted the re-purge: a copy fetched before it is still the old one.
  const accepted = purge?.batches
    .filter((batch) => batch.cdnId === data.cdnId && batch.submittedAt !== undefined)
    .map((batch) => batch.submittedAt as number);
  const since = accepted && accepted.length > 0 ? Math.max(...accepted) : (purge?.finishedAt ?? now);
  const { repurgeId: _done, ...rest } = verify;
  const next: Verified = { ...data, verify: { ...rest, phase: 'check', since } };
  if (!ctx.verification.config.enabled) {
    const note = `purged again as ${repurgeId} (verify.repeatAfterMs); edge checks are off`;
    return finish(next, ctx, { state: 'succeeded' }, { verification: summary(next.verify, 'skipped', note) });
  }
  return waitFor(next, now + ctx.verification.config.delayMs);
}

/** The second purge of the whole batch (verify.repeatAfterMs), for shields that re-serve the old copy. */
async function sendRepeat(data: Verified, ctx: VerifyingContext): Promise<StepOutcome> {
  const batch = await ctx.store.batchTarget(data.batchId);
  if (!batch) return { kind: 'skipped', callbacksDue: [] };
  // Crash window: killed after the repeat is accepted, before checkpoint(), the re-run sends it with the
  // same key and gets the same purge back: one repeat, never two.
  const repurgeId = await ctx.verification.repurge(batch.target, {
    batchId: data.batchId,
    key: `${data.batchId}:repeat`,
    lane: lane(data),
  });
  const verify = withRepurge(data.verify, repurgeId);
  const until = ctx.now() + REPURGE_LOOK_MS;
  const next: Verified = { ...data, verify, readyAt: until };
  await ctx.checkpoint(next);
  await record(
    next,
    ctx,
    summary(verify, 'waiting', `purging it again as ${repurgeId} (verify.repeatAfterMs)`),
  );
  return waitFor(next, until, true);
}

async function checkEdges(data: Verified, ctx: VerifyingContext): Promise<StepOutcome> {
  const { verify } = data;
  const { config } = ctx.verification;
  const urls = verify.urls ?? (await sampleOf(data, ctx));
  if (urls === undefined) return { kind: 'skipped', callbacksDue: [] };
  if (urls.length === 0) {
    const note = verify.urls
      ? 'nothing left to check'
      : 'nothing to check: no URL of the batch is its own to check (dirs, a pattern or all, or URLs only re-purges asked for, which the batches that sent them check)';
    ctx.events?.emit('verify:finished', { cdnId: data.cdnId, outcome: 'skipped' });
    return finish(data, ctx, { state: 'succeeded' }, { verification: summary(verify, 'skipped', note) });
  }
  const round = await ctx.verification.check(urls, verify.since);
  const checkedAt = ctx.now();
  const rounds = verify.rounds + 1;
  for (const check of round.checks)
    ctx.events?.emit('verify:checked', { cdnId: data.cdnId, verdict: check.verdict });
  const stale = round.checks.filter((check) => check.verdict === 'stale');
  const unverified = round.checks.filter((check) => check.verdict === 'unverified');
  const found: BatchVerification = {
    ...summary({ ...verify, rounds }, 'waiting'),
    checkedAt,
    edges: round.edges,
    counts: {
      fresh: round.checks.length - stale.length - unverified.length,
      stale: stale.length,
      unverified: unverified.length,
    },
    ...kept('stale', stale),
    ...kept('unverified', unverified),
  };
  ctx.log.info({ rounds, ...found.counts, edges: round.edges.length }, 'edges checked');

  if (stale.length === 0) {
    const fresh = round.checks.length > 0 && unverified.length === 0;
    const secondsToFresh = (checkedAt - data.acceptedAt) / 1000;
    const verification: BatchVerification = fresh
      ? { ...found, state: 'fresh', secondsToFresh }
      : {
          ...found,
          state: 'unverified',
          note: round.note ?? 'no edge served a stale copy, but not every check could decide',
        };
    ctx.events?.emit('verify:finished', {
      cdnId: data.cdnId,
      outcome: fresh ? 'fresh' : 'unverified',
      ...(fresh ? { secondsToFresh } : {}),
    });
    return finish(data, ctx, { state: 'succeeded' }, { verification });
  }
  const staleUrls = [...new Set(stale.map((check) => check.url))];
  if (verify.repurges >= config.maxRepurges || checkedAt >= verify.deadlineAt) {
    const next: Verified = {
      ...data,
      verify: { ...verify, rounds, stale: stale.slice(0, KEPT_CHECKS), edges: round.edges },
    };
    return endStale(next, ctx, found);
  }
  // Crash window: killed after the re-purge is accepted, before checkpoint(), the re-run checks again and
  // sends with the same key: it gets the first re-purge back, never a second one for the same round.
  let repurgeId: string;
  try {
    repurgeId = await ctx.verification.repurge(
      { urls: staleUrls, dirs: [] },
      { batchId: data.batchId, key: `${data.batchId}:${verify.repurges + 1}`, lane: lane(data) },
    );
  } catch (error) {
    // Refused for good (the CDN's daily quota, say): the stale copies stay, and the batch says why. Anything
    // else (Redis) is thrown, and the step is run again later.
    if (!isPurgeError(error) || error.retryable) throw error;
    const next: Verified = {
      ...data,
      verify: { ...verify, rounds, stale: stale.slice(0, KEPT_CHECKS), edges: round.edges },
    };
    return endStale(next, ctx, { ...found, note: `cannot re-purge: ${error.message}` });
  }
  ctx.events?.emit('verify:repurged', { cdnId: data.cdnId, urls: staleUrls.length });
  const until = ctx.now() + REPURGE_LOOK_MS;
  const next: Verified = {
    ...data,
    readyAt: until,
    verify: {
      ...withRepurge({ ...verify, rounds, repurges: verify.repurges + 1 }, repurgeId),
      phase: 'repurge',
      urls: staleUrls,
      stale: stale.slice(0, KEPT_CHECKS),
      edges: round.edges,
    },
  };
  await ctx.checkpoint(next);
  const note = `${staleUrls.length} URL(s) served stale; sent again as ${repurgeId}, then checked again`;
  await record(next, ctx, { ...found, ...summary(next.verify, 'repurging', note) });
  ctx.log.warn({ repurgeId, urls: staleUrls.length }, 'edges served stale copies; re-purging');
  return waitFor(next, until, true);
}

/** The URLs a first round asks: a sample (all of an urgent batch's), leaving out those checked elsewhere. */
async function sampleOf(data: Verified, ctx: VerifyingContext): Promise<string[] | undefined> {
  const batch = await ctx.store.batchTarget(data.batchId);
  if (!batch) return undefined;
  const elsewhere = new Set(batch.checkedElsewhere ?? []);
  const urls = batch.target.urls.filter((url) => !elsewhere.has(url));
  const size = data.lane === 'urgent' ? MAX_CHECKED_URLS : ctx.verification.config.sample;
  return sampleUrls(urls, Math.min(size, MAX_CHECKED_URLS), ctx.random);
}

/** Edges kept serving the old copy after every re-purge allowed: the batch ends `stale`, its purges failed. */
async function endStale(
  data: Verified,
  ctx: VerifyingContext,
  found: BatchVerification,
): Promise<StepOutcome> {
  const stale = data.verify.stale ?? [];
  const where = [...new Set(stale.map((check) => check.edge))].join(', ');
  const urls = [...new Set(stale.map((check) => check.url))];
  const reason = `${urls.length} URL(s) still served stale by ${where} after ${data.verify.repurges} re-purge(s): ${urls.slice(0, 3).join(' ')}${urls.length > 3 ? ' …' : ''}`;
  ctx.events?.emit('verify:finished', { cdnId: data.cdnId, outcome: 'stale' });
  const verification: BatchVerification = {
    ...found,
    ...summary(data.verify, 'stale', reason),
    ...kept('stale', stale),
  };
  return finish(data, ctx, { state: 'stale', reason, code: 'STALE_AT_EDGE' }, { verification });
}

/** A re-purge that did not end well (or in time) leaves the stale copies where they were. */
function endUnfixed(data: Verified, ctx: VerifyingContext, why: string): Promise<StepOutcome> {
  const found: BatchVerification = {
    ...summary(data.verify, 'stale', why),
    ...(data.verify.edges ? { edges: data.verify.edges } : {}),
  };
  return endStale(data, ctx, found);
}

function withRepurge(verify: VerifyJobState, repurgeId: string): VerifyJobState {
  return { ...verify, repurgeId, repurgeIds: [...(verify.repurgeIds ?? []), repurgeId] };
}

function summary(
  verify: VerifyJobState | undefined,
  state: BatchVerification['state'],
  note?: string,
): BatchVerification {
  const ids = verify?.repurgeIds ?? [];
  return {
    state,
    rounds: verify?.rounds ?? 0,
    repurges: verify?.repurges ?? 0,
    // Lua's JSON writes an empty list as {}: a list is only written when it holds something.
    ...(ids.length > 0 ? { repurgeIds: ids } : {}),
    ...(note ? { note } : {}),
  };
}

function kept(name: 'stale' | 'unverified', checks: readonly EdgeCheck[]) {
  return checks.length > 0 ? { [name]: checks.slice(0, KEPT_CHECKS) } : {};
}

function lane(data: TakenBatchJobData): Priority {
  return data.lane ?? 'normal';
}

/** The record says where the verification stands; `verifying` rides along, as `submitted` does on polls. */
async function record(
  data: Verified,
  ctx: StepContext,
  verification: BatchVerification,
  increments: { polls?: number } = {},
): Promise<void> {
  const patch = {
    state: 'verifying' as const,
    progress: 100,
    deadlineAt: data.verify.deadlineAt,
    verification,
    ...NO_ERROR,
  };
  // A failure here throws: the job's data already says where it stands, and the re-run writes this again.
  await ctx.store.update(ref(data), patch, ctx.now(), increments);
}

function waitFor(data: Verified, until: number, persisted = false): StepOutcome {
  return { kind: 'wait', until, data: { ...data, readyAt: until }, persisted };
}
