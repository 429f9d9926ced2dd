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
  /** Time from enqueue after which a batch that has not finished is `timed_out`. */
  deadlineMs: z.number().int().min(1),
  /**
   * Time from the CDN's accepting a purge during which a 404 for its task is taken as the CDN not knowing it
   * *yet* (a replica catching up) and polled again; after it, a 404 fails the batch.
   */
  notFoundGraceMs: z.number().int().min(0),
};
const pollDefaults = {
  initialIntervalMs: 2_000,
  backoffCoefficient: 1.5,
  maxIntervalMs: 30_000,
  jitter: 0.2,
  deadlineMs: 900_000,
  notFoundGraceMs: 60_000,
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

export const policySchema = z
  .strictObject({
    submit: submitPolicySchema,
    poll: pollPolicySchema,
    http: httpPolicySchema,
    maxRetryAfterMs: maxRetryAfterMs.default(MAX_RETRY_AFTER_DEFAULT_MS),
  })
  .default({
    submit: submitDefaults,
    poll: pollDefaults,
    http: httpDefaults,
    maxRetryAfterMs: MAX_RETRY_AFTER_DEFAULT_MS,
  });

/** A per-CDN override: any subset of any section, no defaults of its own so the global values show through. */
export const policyOverrideSchema = z.strictObject({
  submit: z.strictObject(submitFields).partial().optional(),
  poll: z.strictObject(pollFields).partial().optional(),
  http: z.strictObject(httpFields).partial().optional(),
  maxRetryAfterMs: maxRetryAfterMs.optional(),
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
