import { loadConfigFile, resolveConfigPath } from '../config/load.ts';
import { createLogger } from '../observability/logger.ts';
import { createRuntime, type Runtime } from '../runtime.ts';

/** Builds a producer-side runtime (no workers) for one command, and always closes it. */
export async function withRuntime<T>(
  configPath: string | undefined,
  use: (runtime: Runtime) => Promise<T>,
): Promise<T> {
  const config = await loadConfigFile(resolveConfigPath(configPath));
  // Commands talk to the user on stdout/stderr; the library's own logs only matter when they are errors.
  const runtime = createRuntime(config, {
    log: createLogger({ level: 'error', destination: process.stderr }),
  });
  try {
    return await use(runtime);
  } finally {
    await runtime.close();
  }
}
