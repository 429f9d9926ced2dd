/** The CLI's exit codes, documented in README; scripts branch on them. */
export const EXIT = {
  OK: 0,
  /** The purge ended failed or timed_out (status/--wait), or a CDN check failed. */
  PURGE_FAILED: 1,
  /** Bad arguments, an invalid config, or a purge request the pipeline refuses. */
  USAGE: 2,
  /** No such purge id (unknown, or its status expired). */
  NOT_FOUND: 3,
  /** Redis did not answer. */
  REDIS_UNAVAILABLE: 4,
  /** `--wait --timeout` gave up; the purge itself is still going. */
  WAIT_TIMEOUT: 5,
  /** `purge --dry-run`: sent for real now, the purge would be refused (quota, kind, idempotency key). */
  DRY_RUN_REFUSED: 6,
} as const;

export class CliExit extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message: string) {
    super(message);
    this.exitCode = exitCode;
  }
}
