// A worker in a process of its own, so a test can SIGKILL it mid-flight. Config comes as JSON in
// PURGE_TEST_CONFIG; logs go to stdout.
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createRuntime } from '../../src/runtime.ts';

const config = parseConfig(JSON.parse(process.env.PURGE_TEST_CONFIG ?? '{}'), {});
const runtime = createRuntime(config, { log: createLogger({ level: 'info' }) });
runtime.startWorkers();
process.stdout.write('worker-ready\n');
