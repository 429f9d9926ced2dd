// The workers of a coalescing scenario in a process of their own, as a deployed worker runs: its RSS is the
// workers' alone (the producer, the simulator and its request log stay in the bench process), and it gets a
// core of its own rather than sharing an event loop with the producer it is measured against.
// Config: the rig's config file as JSON in BENCH_WORKER_CONFIG. Talks to its parent over the IPC channel.
import { getHeapSpaceStatistics } from 'node:v8';
import { parseConfig } from '../src/config/load.ts';
import { createLogger } from '../src/observability/logger.ts';
import { createRuntime, type Runtime } from '../src/runtime.ts';
import { startLoopDelayMonitor } from './loop-delay.ts';
import type { WorkerMemory, WorkerReply, WorkerRequest, WorkerSample } from './scenarios/forked-workers.ts';

const config = parseConfig(JSON.parse(process.env.BENCH_WORKER_CONFIG ?? '{}'), {}, 'bench worker config');
/** The running workers' runtime; a fresh one per start, as a runtime starts its workers once. */
let runtime: Runtime | undefined;

// Sampled, since a drain's peak can fall between the parent's questions; unref'd so it never holds exit.
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);
sampler.unref();

const loopDelay = startLoopDelayMonitor();

function sample(): WorkerSample {
  const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
  peakRss = Math.max(peakRss, rss);
  return { rss, heapUsed, heapTotal, external, loopDelay: loopDelay.read() };
}

function memory(): WorkerMemory {
  const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
  peakRss = Math.max(peakRss, rss);
  const spaces = Object.fromEntries(
    getHeapSpaceStatistics().map((space) => [space.space_name, space.space_size]),
  );
  // Read before collecting: RSS is the figure a deployment sees, and gc() would flatter it.
  globalThis.gc?.();
  globalThis.gc?.();
  return { rss, heapUsed, heapTotal, external, heapLive: process.memoryUsage().heapUsed, peakRss, spaces };
}

function reply(message: WorkerReply): void {
  process.send?.(message);
}

async function start(): Promise<void> {
  runtime = createRuntime(config, { log: createLogger({ level: 'silent' }) });
  const pool = runtime.startWorkers();
  // Connected before the parent goes on, so a scenario's first window is not spent on connecting.
  await Promise.all([...pool.workers.values()].map((worker) => worker.waitUntilReady()));
}

async function stopWorkers(): Promise<void> {
  await runtime?.close();
  runtime = undefined;
}

async function handle(message: WorkerRequest): Promise<void> {
  if (message.type === 'start') {
    await start();
    reply({ type: 'started', memory: memory() });
  } else if (message.type === 'stop-workers') {
    await stopWorkers();
    reply({ type: 'stopped', memory: memory() });
  } else if (message.type === 'memory') {
    reply({ type: 'memory', memory: memory() });
  } else if (message.type === 'sample') {
    reply({ type: 'sample', sample: sample() });
  } else {
    clearInterval(sampler);
    loopDelay.stop();
    await stopWorkers();
    process.exit(0);
  }
}

process.on('message', (message: WorkerRequest) => {
  handle(message).catch((error: unknown) => {
    process.stderr.write(`bench worker: ${message.type} failed: ${String(error)}\n`);
    process.exit(1);
  });
});

reply({ type: 'ready', memory: memory() });
