import { PurgeError } from '../errors.ts';

/** One call of a submit's fan-out that failed (several calls to one CDN, or one call to each cache node). */
export interface CallFailure {
  /** What the call purged or where it went (a URL, "N surrogate keys", a node): named in the error, never a secret. */
  what: string;
  error: unknown;
}

/**
 * Runs `call` for every item, at most `concurrency` at once. After the first failure no new call starts:
 * the submit fails as a whole and its retry sends every call again (a purge repeated is harmless, and which
 * calls already landed cannot be told apart across worker processes without state the pipeline does not keep).
 */
export async function runBounded<Item, Result>(
  items: readonly Item[],
  concurrency: number,
  call: (item: Item) => Promise<Result>,
  describe: (item: Item) => string,
): Promise<{ results: Result[]; failures: CallFailure[] }> {
  const results: Result[] = [];
  const failures: CallFailure[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length && failures.length === 0) {
      const item = items[next++] as Item;
      try {
        results.push(await call(item));
      } catch (error) {
        failures.push({ what: describe(item), error });
      }
    }
  };
  const lanes = Math.max(1, Math.min(concurrency, items.length));
  await Promise.all(Array.from({ length: lanes }, lane));
  return { results, failures };
}

export interface FailureWording {
  /** Who made the calls: "Fastly", "Varnish". */
  cdn: string;
  /** What was counted: "purge call(s)", "node(s)". */
  calls: string;
  /** A submit of one call fails with that call's own error, unwrapped. */
  singleAsIs?: boolean;
}

/**
 * One error for the calls of a submit that failed, or undefined if none did. Permanent if any is (retrying
 * cannot fix a token or an ACL), else transient, waiting the longest Retry-After (or rate-limit reset) any
 * call asked for.
 */
export function failureOfCalls(
  failures: readonly CallFailure[],
  callCount: number,
  wording: FailureWording,
): PurgeError | undefined {
  if (failures.length === 0) return undefined;
  const errors = failures.map(({ error }) => toPurgeError(error));
  const permanent = errors.find((error) => !error.retryable);
  const chosen = permanent ?? (errors[0] as PurgeError);
  if (callCount === 1 && wording.singleAsIs) return chosen;
  const detail = failures
    .map(({ what }, index) => `${what}: ${(errors[index] as PurgeError).message}`)
    .join('; ');
  const retryAfters = errors.flatMap((error) =>
    error.retryAfterMs === undefined ? [] : [error.retryAfterMs],
  );
  return new PurgeError(
    chosen.code,
    `${wording.cdn}: ${failures.length} of ${callCount} ${wording.calls} failed — ${detail}`,
    {
      retryable: chosen.retryable,
      cause: chosen,
      ...(chosen.httpStatus === undefined ? {} : { httpStatus: chosen.httpStatus }),
      ...(permanent || retryAfters.length === 0 ? {} : { retryAfterMs: Math.max(...retryAfters) }),
    },
  );
}

function toPurgeError(error: unknown): PurgeError {
  if (error instanceof PurgeError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new PurgeError('CDN_NETWORK', reason, { retryable: true, cause: error });
}
