import { parseArgs } from 'node:util';
import { findConfig } from './config/load.ts';
import { isPurgeError } from './errors.ts';
import { ROLES, type Role } from './roles.ts';
import { runService } from './service.ts';
import { stopOnSignals } from './stop-on-signals.ts';

/**
 * `npm start`: the whole service in one process (`--role all`), or one part of it.
 * Same as `purge-worker start`; kept as a plain entry point so the service starts with no CLI around it.
 */
try {
  const { values } = parseArgs({
    options: { config: { type: 'string', short: 'c' }, role: { type: 'string', default: 'all' } },
  });
  if (!ROLES.includes(values.role as Role)) throw new Error(`--role must be one of ${ROLES.join(', ')}`);
  const { path, source } = findConfig(values.config);
  const signals = stopOnSignals();
  signals.running(await runService({ configPath: path, demo: source === 'demo', role: values.role as Role }));
} catch (error) {
  process.stderr.write(
    `purge-worker: ${isPurgeError(error) || error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(2);
}
