import type { VerifyConfig } from '../config/verify.ts';
import { isPurgeError } from '../errors.ts';
import { type Priority, type PurgeTarget, REPURGE_ID_PREFIX } from '../model/purge.ts';
import type { BatchVerification, EdgeCheck, PurgeStatus } from '../model/status.ts';
import { sampleUrls } from '../verify/sample.ts';
import { finish, NO_ERROR, ref } from './finish.ts';
import type { StepOutcome, TakenBatchJobData, VerifyJobState } from './job.ts';
import type { StepContext } from './step.ts';
import { keptCheck, summary, withoutTargets } from './verification.ts';

/** What the verification step needs of the world: the CDN's settings, its edges, and a way to re-purge. */
export interface VerificationContext {
  config: VerifyConfig;
  /** Asks every edge for every URL once and judges each answer; never throws. */
  check(
    urls: readonly string[],
    acceptedAt: number,
    signal?: AbortSignal,
  ): Promise<{ checks: EdgeCheck[]; edges: string[]; note?: string }>;
  /**
   * Sends `target` to this CDN again as a purge of its own (id `rp-...`, `repurgeOf` the batch), through
   * the pending set like any purge; the same `key` again gives the same purge. Returns its id.
   */
  repurge(target: PurgeTarget, of: { batchId: string; key: string; lane: Priority }): Promise<string>;
}

/**
 * Most URLs an urgent batch has asked (all of them up to this): a round holds one of the CDN's worker slots
 * while it runs, so it is kept to what `ratePerSecond` gets through in seconds, not minutes.
 */
export const MAX_URGENT_URLS = 100;
/** How often, at first, a verification waiting on its re-purge looks at it (a read; doubled up to 5 s). */
const FIRST_LOOK_MS = 500;
const LAST_LOOK_MS = 5_000;
/** A run woken this much before its time (a stalled job re-run at once) waits the rest out. */
const EARLY_MS = 50;

type Verified = TakenBatchJobData & { verify: VerifyJobState };
type VerifyingContext = StepContext & { verification: VerificationContext };

/**
 * The CDN reported the batch done: instead of ending it, the job waits (`verify.delayMs`, or first the
 * repeat purge's `repeatAfterMs`) and then checks the edges. The job's deadline, and the record's, become the
 * verification's, so neither the reconciler nor a 429's pause takes the old poll deadline for it.
 * Crash windows: killed before checkpoint(), the re-run polls again and gets here again; after it, before
 * the record says `verifying`, the re-run is a verify step, and every verify step writes that first.
 */
export async function startVerification(
  data: TakenBatchJobData,
  ctx: VerifyingContext,
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
    return skipped(data, ctx, undefined, note, polls);
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
  const next: Verified = {
    ...data,
    step: 'verify',
    polls: data.polls + polls,
    deadlineAt: verify.deadlineAt,
    verify,
    readyAt: until,
  };
  await ctx.checkpoint(next);
  const note =
    config.repeatAfterMs === undefined
      ? `the CDN reported it done; checking its edges in ${config.delayMs} ms`
      : `the CDN reported it done; purging again in ${config.repeatAfterMs} ms (verify.repeatAfterMs)`;
  await record(next, ctx, summary(verify, 'waiting', note), { polls });
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
  const now = ctx.now();
  // A stalled job is re-run at once: the wait it was in (delayMs, repeatAfterMs) still holds.
  if (data.readyAt !== undefined && data.readyAt - now > EARLY_MS) return waitFor(job, data.readyAt, true);
  // The record says `verifying` on every run (a crash may have left it `submitted`), and a batch that has
  // ended meanwhile (the reconciler, a run killed after its end) is not checked or re-purged again.
  const touched = await ctx.store.update(
    ref(data),
    { state: 'verifying', deadlineAt: verify.deadlineAt, ...NO_ERROR },
    now,
  );
  if (touched.outcome !== 'applied') return { kind: 'skipped', callbacksDue: touched.callbacksDue };
  const context = { ...ctx, verification };
  if (verify.repurgeId !== undefined) return awaitRepurge(job, context, verify.repurgeId);
  if (verify.phase === 'repeat') return sendRepeat(job, context);
  return checkEdges(job, context);
}

/** How a re-purge stands at this CDN: the CDN done with all of it, refused it, or not yet. */
function repurgeAt(purge: PurgeStatus | undefined, cdnId: string): 'done' | 'failed' | 'running' {
  if (!purge) return 'failed';
  const batches = purge.batches.filter((batch) => batch.cdnId === cdnId);
  if (batches.some((batch) => batch.state === 'failed' || batch.state === 'timed_out')) return 'failed';
  const taken = batches.reduce((sum, batch) => sum + batch.share, 0);
  // Done once the CDN reported every batch carrying it done, whatever their own checks of other purges'
  // URLs find later (`verifying`, or `stale` for someone else's): this batch checks its URLs itself.
  const reported = batches.every(
    (batch) => batch.state === 'verifying' || batch.state === 'succeeded' || batch.state === 'stale',
  );
  return taken >= (purge.targets[cdnId]?.total ?? 0) && reported ? 'done' : 'running';
}

/**
 * Waits for a re-purge (or the repeat purge) to be done at the CDN, reading its record: no CDN call, no
 * quota. Looks back at it at growing intervals (each look is a run on the CDN's queue, which counts against
 * its rateLimit), up to the verification's deadline.
 */
async function awaitRepurge(data: Verified, ctx: VerifyingContext, repurgeId: string): Promise<StepOutcome> {
  const { verify } = data;
  const purge = await ctx.store.get(repurgeId);
  const now = ctx.now();
  const at = repurgeAt(purge, data.cdnId);
  if (at === 'running') {
    if (now >= verify.deadlineAt)
      return endOverdue(data, ctx, `its ${what(verify)} ${repurgeId} was not done by verify.deadlineMs`);
    const looks = (verify.looks ?? 0) + 1;
    const delay = Math.min(FIRST_LOOK_MS * 2 ** (looks - 1), LAST_LOOK_MS);
    return waitFor({ ...data, verify: { ...verify, looks } }, Math.min(now + delay, verify.deadlineAt));
  }
  if (at === 'failed') {
    const reason = `its ${what(verify)} ${repurgeId} ${purge ? `ended ${purge.state} at the CDN` : 'has no record left'}`;
    if (verify.phase === 'repeat') {
      return finish(
        data,
        ctx,
        { state: 'failed', reason, code: 'REPURGE_FAILED' },
        { verification: summary(verify, 'skipped', reason) },
      );
    }
    return endStale(data, ctx, reason);
  }
  // Judged from when the CDN accepted the re-purge: a copy fetched before it is still the old one.
  const accepted = (purge as PurgeStatus).batches
    .filter((batch) => batch.cdnId === data.cdnId && batch.submittedAt !== undefined)
    .map((batch) => batch.submittedAt as number);
  const since = accepted.length > 0 ? Math.max(...accepted) : now;
  const { repurgeId: _done, looks: _looks, ...rest } = verify;
  const recheck = verify.phase === 'repurge' ? { recheck: repurgeId } : {};
  const next: Verified = { ...data, verify: { ...rest, ...recheck, phase: 'check', since } };
  if (!ctx.verification.config.enabled) {
    return skipped(
      next,
      ctx,
      next.verify,
      `purged again as ${repurgeId} (verify.repeatAfterMs); edge checks are off`,
    );
  }
  return waitFor(next, Math.min(now + ctx.verification.config.delayMs, verify.deadlineAt));
}

/** The second purge of the batch (verify.repeatAfterMs), for shields that re-serve the old copy. */
async function sendRepeat(data: Verified, ctx: VerifyingContext): Promise<StepOutcome> {
  const batch = await ctx.store.batchTarget(data.batchId);
  if (!batch) return { kind: 'skipped', callbacksDue: [] };
  // Only what the batch's own purges asked for: what re-purges asked for, their senders repeat.
  const target = withoutTargets(batch.target, batch.repurgeOnly);
  let repurgeId: string;
  try {
    // Crash window: killed after the repeat is accepted, before checkpoint(), the re-run sends it with the
    // same key and gets the same purge back: one repeat, never two.
    repurgeId = await ctx.verification.repurge(target, {
      batchId: data.batchId,
      key: `${data.batchId}:repeat`,
      lane: lane(data),
    });
  } catch (error) {
    const refused = refusal(error, data, ctx);
    if (refused.wait) return refused.wait;
    const reason = `the repeat purge (verify.repeatAfterMs) was refused: ${refused.message}`;
    return finish(
      data,
      ctx,
      { state: 'failed', reason, code: 'REPURGE_FAILED' },
      { verification: summary(data.verify, 'skipped', reason) },
    );
  }
  const verify = withRepurge(data.verify, repurgeId);
  const until = ctx.now() + FIRST_LOOK_MS;
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
  if (!config.enabled) return skipped(data, ctx, verify, 'edge checks were turned off (verify.enabled)');
  const urls = await urlsToCheck(data, ctx);
  if (urls === undefined) return { kind: 'skipped', callbacksDue: [] };
  if (urls.length === 0) {
    const note = verify.recheck
      ? 'nothing left to check'
      : 'nothing to check: no URL of the batch is its own (dirs, a pattern or all, or URLs only re-purges asked for, which the batches that sent them check)';
    return skipped(data, ctx, verify, note);
  }
  const round = await ctx.verification.check(urls, verify.since, ctx.signal);
  // Our own shutdown cut the round short: what it found says nothing; another worker checks again.
  if (ctx.signal?.aborted) return { kind: 'released' };
  const checkedAt = ctx.now();
  const rounds = verify.rounds + 1;
  for (const check of round.checks)
    ctx.events?.emit('verify:checked', { cdnId: data.cdnId, verdict: check.verdict });
  const stale = round.checks.filter((check) => check.verdict === 'stale');
  const unverified = round.checks.filter((check) => check.verdict === 'unverified');
  const found: BatchVerification = {
    ...summary({ ...verify, rounds }, 'waiting'),
    checkedAt,
    // Lua's JSON writes an empty list as {}: only a list that holds something is written.
    ...(round.edges.length > 0 ? { edges: round.edges } : {}),
    counts: {
      fresh: round.checks.length - stale.length - unverified.length,
      stale: stale.length,
      unverified: unverified.length,
    },
    ...kept('stale', stale),
    ...kept('unverified', unverified),
  };
  ctx.log.info({ rounds, ...found.counts, edges: round.edges.length }, 'edges checked');
  const after: Verified = {
    ...data,
    verify: {
      ...verify,
      rounds,
      stale: stale.slice(0, 20).map(keptCheck),
      ...(found.edges ? { edges: found.edges } : {}),
    },
  };

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
    return finish(after, ctx, { state: 'succeeded' }, { verification });
  }
  if (verify.repurges >= config.maxRepurges || checkedAt >= verify.deadlineAt)
    return endStale(after, ctx, undefined, found);
  const staleUrls = [...new Set(stale.map((check) => check.url))];
  let repurgeId: string;
  try {
    // Crash window: killed after the re-purge is accepted, before checkpoint(), the re-run checks again and
    // sends with the same key: it gets the first re-purge back, never a second one for the round, and the
    // next round checks that re-purge's URLs (its plan), whatever the re-run's own round found.
    repurgeId = await ctx.verification.repurge(
      { urls: staleUrls, dirs: [] },
      { batchId: data.batchId, key: `${data.batchId}:${verify.repurges + 1}`, lane: lane(data) },
    );
  } catch (error) {
    const refused = refusal(error, data, ctx);
    if (refused.wait) return refused.wait;
    return endStale(after, ctx, `cannot re-purge: ${refused.message}`, found);
  }
  ctx.events?.emit('verify:repurged', { cdnId: data.cdnId, urls: staleUrls.length });
  const until = ctx.now() + FIRST_LOOK_MS;
  const next: Verified = {
    ...after,
    readyAt: until,
    verify: {
      ...withRepurge({ ...after.verify, repurges: verify.repurges + 1 }, repurgeId),
      phase: 'repurge',
    },
  };
  await ctx.checkpoint(next);
  const note = `${staleUrls.length} URL(s) served stale; sent again as ${repurgeId}, then checked again`;
  await record(next, ctx, { ...found, ...summary(next.verify, 'repurging', note) });
  ctx.log.warn({ repurgeId, urls: staleUrls.length }, 'edges served stale copies; re-purging');
  return waitFor(next, until, true);
}

/** A refused re-purge: the bulk lane shedding waits its Retry-After (within the deadline); the rest is final. */
function refusal(
  error: unknown,
  data: Verified,
  ctx: VerifyingContext,
): { wait?: StepOutcome; message: string } {
  // Anything not ours to decide (Redis) is thrown: the step is run again later.
  if (!isPurgeError(error)) throw error;
  if (error.retryable) throw error;
  const now = ctx.now();
  if (error.code === 'BACKLOG_FULL' && now < data.verify.deadlineAt) {
    return {
      wait: waitFor(data, Math.min(now + (error.retryAfterMs ?? 30_000), data.verify.deadlineAt)),
      message: error.message,
    };
  }
  return { message: error.message };
}

/** A first round asks a sample (all of an urgent batch's); a later one, the URLs its re-purge sent again. */
async function urlsToCheck(data: Verified, ctx: VerifyingContext): Promise<string[] | undefined> {
  const { recheck } = data.verify;
  if (recheck) return [...((await ctx.store.getPlan(recheck))?.targets[data.cdnId]?.urls ?? [])];
  const batch = await ctx.store.batchTarget(data.batchId);
  if (!batch) return undefined;
  const theirs = new Set(batch.repurgeOnly?.urls ?? []);
  const urls = batch.target.urls.filter((url) => !theirs.has(url));
  const size =
    data.lane === 'urgent'
      ? Math.max(MAX_URGENT_URLS, ctx.verification.config.sample)
      : ctx.verification.config.sample;
  return sampleUrls(urls, size, ctx.random);
}

/** Edges kept serving the old copy after every re-purge allowed: the batch ends `stale`, its purges failed. */
function endStale(
  data: Verified,
  ctx: VerifyingContext,
  why?: string,
  found?: BatchVerification,
): Promise<StepOutcome> {
  const stale = data.verify.stale ?? [];
  const where = [...new Set(stale.map((check) => check.edge))].join(', ');
  const urls = [...new Set(stale.map((check) => check.url))];
  const listed = urls.slice(0, 3).map((url) => (url.length > 200 ? `${url.slice(0, 200)}…` : url));
  const seen =
    urls.length > 0
      ? `${urls.length} URL(s) still served stale by ${where}: ${listed.join(' ')}${urls.length > 3 ? ' …' : ''}`
      : '';
  const reason = [why, seen].filter(Boolean).join('; ') || 'edges served stale copies';
  ctx.events?.emit('verify:finished', { cdnId: data.cdnId, outcome: 'stale' });
  const verification: BatchVerification = {
    ...(found ?? summary(data.verify, 'stale')),
    ...summary(data.verify, 'stale', reason),
    ...(data.verify.edges ? { edges: data.verify.edges } : {}),
    ...kept('stale', stale),
  };
  return finish(data, ctx, { state: 'stale', reason, code: 'STALE_AT_EDGE' }, { verification });
}

/**
 * Out of time with nothing seen stale (the repeat not done in time): the CDN did report the purge done, so
 * the batch succeeds, unverified; with stale copies seen, it ends stale.
 */
function endOverdue(data: Verified, ctx: VerifyingContext, why: string): Promise<StepOutcome> {
  if (data.verify.phase === 'repurge') return endStale(data, ctx, why);
  ctx.events?.emit('verify:finished', { cdnId: data.cdnId, outcome: 'unverified' });
  return finish(data, ctx, { state: 'succeeded' }, { verification: summary(data.verify, 'unverified', why) });
}

function skipped(
  data: TakenBatchJobData,
  ctx: StepContext,
  verify: VerifyJobState | undefined,
  note: string,
  polls = 0,
): Promise<StepOutcome> {
  ctx.events?.emit('verify:finished', { cdnId: data.cdnId, outcome: 'skipped' });
  return finish(data, ctx, { state: 'succeeded' }, { polls, verification: summary(verify, 'skipped', note) });
}

function withRepurge(verify: VerifyJobState, repurgeId: string): VerifyJobState {
  const { looks: _reset, ...rest } = verify;
  return { ...rest, repurgeId, repurgeIds: [...(verify.repurgeIds ?? []), repurgeId] };
}

function what(verify: VerifyJobState): string {
  return verify.phase === 'repeat' ? 'repeat purge' : 're-purge';
}

function kept(name: 'stale' | 'unverified', checks: readonly EdgeCheck[]) {
  return checks.length > 0 ? { [name]: checks.slice(0, 20).map(keptCheck) } : {};
}

function lane(data: TakenBatchJobData): Priority {
  return data.lane ?? 'normal';
}

/** The record says where the verification stands; a failure throws, and the re-run writes it again. */
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
  await ctx.store.update(ref(data), patch, ctx.now(), increments);
}

function waitFor(data: Verified, until: number, persisted = false): StepOutcome {
  return { kind: 'wait', until, data: { ...data, readyAt: until }, persisted };
}
