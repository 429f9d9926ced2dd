// Enqueues one purge through the library API and prints its id, e.g.
//   VIMS_TOKEN=sk_live_demo node examples/enqueue.ts https://www.example.com/news/today.html
import { loadConfigFile } from '../src/config/load.ts';
import { createLogger } from '../src/observability/logger.ts';
import { createRuntime } from '../src/runtime.ts';

const urls = process.argv.slice(2);
const config = await loadConfigFile(process.env.PURGE_CONFIG ?? 'examples/demo.json');
const runtime = createRuntime(config, { log: createLogger({ level: 'warn' }) });
try {
  const { id, cdns } = await runtime.producer.enqueuePurge({ urls });
  process.stdout.write(`${JSON.stringify({ id, cdns })}\n`);
} finally {
  await runtime.close();
}
