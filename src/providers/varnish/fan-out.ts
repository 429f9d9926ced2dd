import { PurgeError } from '../../errors.ts';

export interface NodeFailure {
  node: string;
  error: unknown;
}

/**
 * One error for a fan-out in which some nodes failed, or undefined if none did. Permanent if any node's
 * failure is (retrying cannot fix an ACL), else transient, waiting the longest Retry-After any node asked
 * for. A retry resends to every node: PURGE and BAN are idempotent, and the nodes that already answered
 * cannot be told apart across worker processes without state the pipeline does not keep.
 */
export function failureOfNodes(failures: readonly NodeFailure[], nodeCount: number): PurgeError | undefined {
  if (failures.length === 0) return undefined;
  const errors = failures.map(({ error }) => toPurgeError(error));
  const permanent = errors.find((error) => !error.retryable);
  const chosen = permanent ?? (errors[0] as PurgeError);
  const detail = failures
    .map(({ node }, index) => `${node}: ${(errors[index] as PurgeError).message}`)
    .join('; ');
  const message = `Varnish: ${failures.length} of ${nodeCount} node(s) failed — ${detail}`;
  const retryAfters = errors.flatMap((error) =>
    error.retryAfterMs === undefined ? [] : [error.retryAfterMs],
  );
  return new PurgeError(chosen.code, message, {
    retryable: chosen.retryable,
    cause: chosen,
    ...(chosen.httpStatus === undefined ? {} : { httpStatus: chosen.httpStatus }),
    ...(permanent || retryAfters.length === 0 ? {} : { retryAfterMs: Math.max(...retryAfters) }),
  });
}

function toPurgeError(error: unknown): PurgeError {
  if (error instanceof PurgeError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new PurgeError('CDN_NETWORK', reason, { retryable: true, cause: error });
}
