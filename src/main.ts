import { parseArgs } from 'node:util';
import { loadConfigFile, resolveConfigPath } from './config/load.ts';
import { isPurgeError } from './errors.ts';
import { createLogger } from './observability/logger.ts';
import { createRuntime } from './runtime.ts';

/**
 * Composition root: load config, build dependencies, start the workers, stop cleanly on SIGTERM/SIGINT.
 * Run with `npm start` (or `node src/main.ts --config path.json`).
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } });
  const configPath = resolveConfigPath(values.config);
  let config: Awaited<ReturnType<typeof loadConfigFile>>;
  try {
    config = await loadConfigFile(configPath);
  } catch (error) {
    process.stderr.write(`purge-worker: ${isPurgeError(error) ? error.message : String(error)}\n`);
    process.exit(2);
  }
  const log = createLogger({ level: config.log.level });
  const runtime = createRuntime(config, { log });
  runtime.startWorkers();
  log.info(
    { configPath, cdns: config.cdns.map((cdn) => cdn.id), prefix: config.redis.prefix },
    'purge-worker started',
  );

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: no new jobs, finishing in-flight ones');
    try {
      await runtime.close();
      log.info('stopped');
      process.exit(0);
    } catch (error) {
      log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

await main();
