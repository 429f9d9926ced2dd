import { z } from 'zod';

/**
 * Retry and poll policy, in Temporal's vocabulary. Defaults sit beside each field; a CDN entry may override
 * any of them (`cdns[].policy`), merged over the global policy field by field.
 */
const submitFields = {
  /** Submit calls per batch before giving up on transient errors (network, timeouts, 408/429/5xx). */
  attempts: z.number().int().min(1).max(100),
  initialIntervalMs: z.number().int().min(1),
  backoffCoefficient: z.number().min(1).max(10),
  maxIntervalMs: z.number().int().min(1),
  /** Fraction of each delay randomised (0.2 = ±20%) so many workers do not retry in lockstep. */
  jitter: z.number().min(0).max(1),
};
const submitDefaults = {
  attempts: 6,
  initialIntervalMs: 1_000,
  backoffCoefficient: 2,
  maxIntervalMs: 60_000,
  jitter: 0.2,
};

const pollFields = {
  initialIntervalMs: z.number().int().min(1),
  backoffCoefficient: z.number().min(1).max(10),
  maxIntervalMs: z.number().int().min(1),
  jitter: z.number().min(0).max(1),
  /**
   * Time from the CDN's accepting a batch after which a batch whose task has not finished is `timed_out`:
   * the CDN's own time only (time waiting in our queue is `queueDeadlineMs`'s).
   */
  deadlineMs: z.number().int().min(1),
  /**
   * Time from the CDN's accepting a purge during which a 404 for its task is taken as the CDN not knowing it
   * *yet* (a replica catching up) and polled again; after it, a 404 fails the batch.
   */
  notFoundGraceMs: z.number().int().min(0),
  /**
   * Aim polls at the end the CDN's progress predicts and learn this CDN's task durations (pipeline/
   * poll-schedule.ts); `false`: the plain backoff, shortened by progress, that preceded it.
   */
  adaptive: z.boolean(),
  /**
   * Shortest wait between two polls of one task that the adaptive schedule plans (never more than the
   * initial or the max interval either, so a config with tiny intervals keeps them tiny).
   */
  minIntervalMs: z.number().int().min(1),
};
const pollDefaults = {
  initialIntervalMs: 2_000,
  backoffCoefficient: 1.5,
  maxIntervalMs: 30_000,
  jitter: 0.2,
  deadlineMs: 900_000,
  notFoundGraceMs: 60_000,
  adaptive: true,
  minIntervalMs: 250,
};

const httpFields = {
  connectTimeoutMs: z.number().int().min(1),
  /** undici's own defaults are 300 s: far too long for a worker that must never hang on a stalled CDN. */
  headersTimeoutMs: z.number().int().min(1),
  bodyTimeoutMs: z.number().int().min(1),
  /** Hard cap on one whole request, covering a body that trickles in just under bodyTimeout. */
  totalTimeoutMs: z.number().int().min(1),
  maxResponseBytes: z.number().int().min(1024),
};
const httpDefaults = {
  connectTimeoutMs: 5_000,
  headersTimeoutMs: 15_000,
  bodyTimeoutMs: 15_000,
  totalTimeoutMs: 30_000,
  maxResponseBytes: 1024 * 1024,
};

/** A section with every field optional in the file and its default filled in after validation. */
function section<F extends z.ZodRawShape, D extends { [K in keyof F]: z.output<F[K]> }>(
  fields: F,
  defaults: D,
) {
  return z
    .strictObject(fields)
    .partial()
    .optional()
    .transform((given) => ({ ...defaults, ...withoutUndefined(given) }) as D);
}

export const submitPolicySchema = section(submitFields, submitDefaults);
export const pollPolicySchema = section(pollFields, pollDefaults);
export const httpPolicySchema = section(httpFields, httpDefaults);

/**
 * Longest wait a CDN's Retry-After is honoured for, on submits and polls alike (a 429 pauses the CDN's whole
 * queue for it). A CDN answering `Retry-After: 999999999` must not stop its queue for 31 years; a wait is
 * also never longer than the time left before the batch's deadline.
 */
const maxRetryAfterMs = z.number().int().min(1);
const MAX_RETRY_AFTER_DEFAULT_MS = 300_000;

/**
 * Time from a target's acceptance after which, if no call carrying it has been accepted by the CDN, its
 * batch ends `timed_out` (a backlog, a CDN refusing with 429s): our queue's time only. Unset, the poll
 * deadline's value.
 */
const queueDeadlineMs = z.number().int().min(1);

/** A lane's own deadlines (`policy.lanes.urgent`...), over the policy's. */
const laneDeadlinesSchema = z.strictObject({
  queueDeadlineMs: queueDeadlineMs.optional(),
  pollDeadlineMs: z.number().int().min(1).optional(),
});
const lanesSchema = z.strictObject({
  urgent: laneDeadlinesSchema.optional(),
  normal: laneDeadlinesSchema.optional(),
  bulk: laneDeadlinesSchema.optional(),
});

export const policySchema = z
  .strictObject({
    submit: submitPolicySchema,
    poll: pollPolicySchema,
    http: httpPolicySchema,
    maxRetryAfterMs: maxRetryAfterMs.default(MAX_RETRY_AFTER_DEFAULT_MS),
    queueDeadlineMs: queueDeadlineMs.optional(),
    lanes: lanesSchema.default({}),
  })
  .default({
    submit: submitDefaults,
    poll: pollDefaults,
    http: httpDefaults,
    maxRetryAfterMs: MAX_RETRY_AFTER_DEFAULT_MS,
    lanes: {},
  });

/** A per-CDN override: any subset of any section, no defaults of its own so the global values show through. */
export const policyOverrideSchema = z.strictObject({
  submit: z.strictObject(submitFields).partial().optional(),
  poll: z.strictObject(pollFields).partial().optional(),
  http: z.strictObject(httpFields).partial().optional(),
  maxRetryAfterMs: maxRetryAfterMs.optional(),
  queueDeadlineMs: queueDeadlineMs.optional(),
  lanes: lanesSchema.optional(),
});

export type SubmitPolicy = z.infer<typeof submitPolicySchema>;
export type PollPolicy = z.infer<typeof pollPolicySchema>;
export type HttpPolicy = z.infer<typeof httpPolicySchema>;
export type Policy = z.infer<typeof policySchema>;
export type PolicyOverride = z.infer<typeof policyOverrideSchema>;

export function mergePolicy(base: Policy, override: PolicyOverride | undefined): Policy {
  return {
    submit: { ...base.submit, ...withoutUndefined(override?.submit) },
    poll: { ...base.poll, ...withoutUndefined(override?.poll) },
    http: { ...base.http, ...withoutUndefined(override?.http) },
    maxRetryAfterMs: override?.maxRetryAfterMs ?? base.maxRetryAfterMs,
    ...((override?.queueDeadlineMs ?? base.queueDeadlineMs)
      ? { queueDeadlineMs: (override?.queueDeadlineMs ?? base.queueDeadlineMs) as number }
      : {}),
    lanes: {
      urgent: { ...base.lanes.urgent, ...withoutUndefined(override?.lanes?.urgent) },
      normal: { ...base.lanes.normal, ...withoutUndefined(override?.lanes?.normal) },
      bulk: { ...base.lanes.bulk, ...withoutUndefined(override?.lanes?.bulk) },
    },
  };
}

/** A lane's deadlines: its own, else the policy's (the queue's defaulting to the poll deadline's value). */
export function laneDeadlines(policy: Policy, lane: 'urgent' | 'normal' | 'bulk') {
  const own = policy.lanes[lane];
  return {
    queueMs: own?.queueDeadlineMs ?? policy.queueDeadlineMs ?? policy.poll.deadlineMs,
    pollMs: own?.pollDeadlineMs ?? policy.poll.deadlineMs,
  };
}

function withoutUndefined<T extends object>(
  value: T | undefined,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  if (value === undefined) return {};
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
