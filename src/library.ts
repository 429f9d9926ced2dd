/**
 * `purge-worker`: the producer, for code that runs next to Redis and enqueues purges itself, without the
 * HTTP API in between. Every purge goes through the same checks the API makes (limits, canonical URLs,
 * routes, a public callbackUrl) and the same producer; workers (`purge-worker start`) carry them out.
 */
import { acceptPurge } from './api/accept.ts';
import type { PurgeRequest, PurgeStatus } from './client/types.ts';
import { loadConfigFile, parseConfig } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { publicStatus } from './model/status.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import type { EnqueueResult } from './queue/enqueue.ts';
import { createRuntime } from './runtime.ts';

export type { PurgeRequest, PurgeStatus } from './client/types.ts';
export type { ErrorCode } from './errors.ts';
export { PurgeError } from './errors.ts';
export type { Config, EnqueueResult, Logger };

export interface ProducerOptions {
  /** A config file (`.json`, `.yaml`), or its content as an object; validated as `purge-worker start` does. */
  config: string | Record<string, unknown>;
  /** Fills `${VAR}` placeholders in the config. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Where the producer logs (Redis connection errors). Default: JSON lines on stderr at `log.level`. */
  log?: Logger;
  /**
   * Whose idempotency keys these are: keys of different scopes never meet (the API's are per token, the
   * CLI's `cli`). Default `library`.
   */
  idempotencyScope?: string;
}

export interface EnqueueOptions {
  /** A repeat of the same request under this key (within api.idempotencyWindowSeconds) is the first purge. */
  idempotencyKey?: string;
}

export interface Producer {
  readonly config: Config;
  /** Accepts a purge (REQUEST_INVALID, QUOTA_EXCEEDED, …: a PurgeError, and nothing written). */
  enqueue(request: PurgeRequest, options?: EnqueueOptions): Promise<EnqueueResult>;
  /** The purge's status as GET /v1/purges/:id answers it; undefined when unknown or expired. */
  status(id: string): Promise<PurgeStatus | undefined>;
  /** Closes its Redis connections and queues. */
  close(): Promise<void>;
}

export async function createProducer(options: ProducerOptions): Promise<Producer> {
  const env = options.env ?? process.env;
  const config =
    typeof options.config === 'string'
      ? await loadConfigFile(options.config, env)
      : parseConfig(options.config, env);
  const log = options.log ?? createLogger({ level: config.log.level, destination: process.stderr });
  const runtime = createRuntime(config, { log });
  const scope = options.idempotencyScope ?? 'library';
  return {
    config,
    enqueue: (request, { idempotencyKey } = {}) =>
      acceptPurge(
        request,
        idempotencyKey === undefined ? undefined : { scope, key: idempotencyKey },
        runtime,
      ),
    async status(id) {
      const status = await runtime.store.get(id);
      return status && publicStatus(status);
    },
    close: () => runtime.close(),
  };
}
