import type { FastifyInstance } from 'fastify';
import { buildApp, buildMetricsApp } from './api/app.ts';
import { loadConfigFile } from './config/load.ts';
import type { Demo } from './demo/demo.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { describeRedis } from './queue/connection.ts';
import type { Role } from './roles.ts';
import { createRuntime } from './runtime.ts';

export { ROLES, type Role } from './roles.ts';

export interface RunningService {
  log: Logger;
  /** Where the API (role all or api) or the metrics server (role worker) listens. */
  address?: string;
  stop(reason: string): Promise<void>;
}

/**
 * Starts a process in one role: `all` (API and workers in one process, the default), `worker` or `api`,
 * so each can be scaled on its own. Stops cleanly on SIGTERM/SIGINT: the API stops accepting, workers take
 * no new jobs and finish (or release) the ones in flight, then Redis is closed.
 */
export async function runService(options: {
  configPath: string;
  role: Role;
  pretty?: boolean;
  /** The path is the bundled demo, chosen because the user named none: run what it needs beside it. */
  demo?: boolean;
}): Promise<RunningService> {
  // Loaded only for the demo: the simulator is no part of a deployment's process.
  const demo = options.demo
    ? await (await import('./demo/demo.ts')).startDemo({ configPath: options.configPath, role: options.role })
    : undefined;
  try {
    return await startService(options, demo);
  } catch (error) {
    await demo?.close();
    throw error;
  }
}

async function startService(
  options: { configPath: string; role: Role; pretty?: boolean },
  demo: Demo | undefined,
): Promise<RunningService> {
  const config = await loadConfigFile(options.configPath, process.env, demo?.adjust);
  // JSON for machines; pino-pretty when a person is watching a terminal (LOG_FORMAT=json|pretty overrides).
  const pretty =
    options.pretty ??
    (process.env.LOG_FORMAT ? process.env.LOG_FORMAT === 'pretty' : process.stdout.isTTY === true);
  const log = createLogger({ level: config.log.level, pretty });
  if (demo) {
    log.warn(
      { configPath: options.configPath },
      'no config found (./purge-worker.json, .yaml or .yml, PURGE_CONFIG or --config): running the bundled demo ' +
        '(its secrets are public); `purge-worker init` writes a config of your own',
    );
    for (const note of demo.notes) log[note.level](note.fields, note.msg);
  }
  const runtime = createRuntime(config, { log });
  if (options.role !== 'api') runtime.startWorkers();
  let app: FastifyInstance | undefined;
  let address: string | undefined;
  if (options.role === 'worker') {
    app = await buildMetricsApp({ runtime, log });
    address = await app.listen({ host: config.metrics.host, port: config.metrics.port });
  } else {
    app = await buildApp({ runtime, log });
    address = await app.listen({ host: config.api.host, port: config.api.port });
  }
  log.info(
    {
      role: options.role,
      configPath: options.configPath,
      cdns: config.cdns.map((c) => c.id),
      redis: describeRedis(config.redis),
      prefix: config.redis.prefix,
      address,
    },
    'purge-worker started',
  );

  let stopping: Promise<void> | undefined;
  // Past the grace period, the release window and the closing of queues: a close that still waits is
  // waiting on a Redis that does not answer, and would keep the process (and a supervisor's restart) for ever.
  const stopDeadlineMs = config.worker.shutdownGraceMs + SHUTDOWN_MARGIN_MS;
  const stop = (reason: string) => {
    stopping ??= (async () => {
      log.info({ reason }, 'shutting down: no new jobs, finishing in-flight ones');
      const closing = (async () => {
        await app?.close();
        await runtime.close();
        await demo?.close();
      })();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), stopDeadlineMs);
      });
      const outcome = await Promise.race([closing.then(() => 'closed' as const), late]).finally(() =>
        clearTimeout(timer),
      );
      if (outcome === 'late')
        throw new Error(`shutdown did not finish within ${stopDeadlineMs} ms (is Redis unreachable?)`);
      log.info('stopped');
    })();
    return stopping;
  };
  return { log, ...(address ? { address } : {}), stop };
}

/** What a shutdown may take beyond `worker.shutdownGraceMs` before the process exits regardless. */
const SHUTDOWN_MARGIN_MS = 5_000;
