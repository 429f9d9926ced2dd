import { findConfig, LOOKED_FOR, loadConfigFile } from '../config/load.ts';
import { describeError } from '../errors.ts';
import { createLogger } from '../observability/logger.ts';
import { redisHost } from '../queue/connection.ts';
import { createRuntime, type Runtime } from '../runtime.ts';
import { withTimeout } from '../with-timeout.ts';
import { CliExit, EXIT } from './exit-codes.ts';

const REDIS_CHECK_MS = 5_000;

/**
 * Builds a producer-side runtime (no workers) for one command, and always closes it. Commands that need
 * Redis check it first, so an outage is one clear message and exit code 4, not a library's retry wording.
 */
export async function withRuntime<T>(
  configPath: string | undefined,
  use: (runtime: Runtime) => Promise<T>,
  { needsRedis = true, readOnly = false }: { needsRedis?: boolean; readOnly?: boolean } = {},
): Promise<T> {
  const config = await loadConfigFile(chooseConfig(configPath));
  // Commands talk to the user on stdout/stderr themselves; the library stays quiet unless it is fatal.
  const runtime = createRuntime(config, {
    log: createLogger({ level: 'fatal', destination: process.stderr }),
    ...(readOnly ? { readOnly: true } : {}),
  });
  try {
    if (needsRedis) await checkRedis(runtime, config.redis.url);
    return await use(runtime);
  } finally {
    await runtime.close();
  }
}

/**
 * The config file a command uses: the one `npm start` would (config/load.ts findConfig). When that is the
 * bundled demo, stderr says so, and where it looked first: a command meant for a real deployment must not
 * quietly talk to the demo's Redis prefix.
 */
export function chooseConfig(explicit: string | undefined): string {
  const { path, source } = findConfig(explicit);
  if (source === 'demo')
    process.stderr.write(`purge-worker: no config found (${LOOKED_FOR}): using the demo's, ${path}\n`);
  return path;
}

async function checkRedis(runtime: Runtime, url: string): Promise<void> {
  try {
    await withTimeout(runtime.ping(), REDIS_CHECK_MS, 'ping');
  } catch (error) {
    throw new CliExit(
      EXIT.REDIS_UNAVAILABLE,
      `cannot reach Redis at ${redisHost(url)}: ${describeError(error)}`,
    );
  }
}
