import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SERVICE_NODE_FLAGS } from '../../src/node-flags.ts';
import type { LoopDelay } from '../loop-delay.ts';

export interface WorkerMemory {
  rss: number;
  heapUsed: number;
  /** V8's heap as reserved (used or garbage), and memory outside it (Buffers, native allocations). */
  heapTotal: number;
  external: number;
  /** The JS heap still in use after two full collections: what the process holds on to, garbage aside. */
  heapLive: number;
  /** Highest RSS the process sampled (every 50 ms) since it started. */
  peakRss: number;
  /** Bytes V8 has reserved per heap space (new_space, old_space...), read before collecting. */
  spaces: Record<string, number>;
}

/** What the soak reads every few seconds: no gc() first, so the process runs as deployed between reads. */
export interface WorkerSample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  /** Event-loop delay since the previous sample (bench/loop-delay.ts). */
  loopDelay: LoopDelay;
}

export type WorkerRequest =
  | { type: 'start' }
  | { type: 'stop-workers' }
  | { type: 'memory' }
  | { type: 'sample' }
  | { type: 'exit' };
type MemoryReplyType = 'ready' | 'started' | 'stopped' | 'memory';
/** One member per reply type, so a reply can be told apart by its type alone. */
export type WorkerReply =
  | { [Type in MemoryReplyType]: { type: Type; memory: WorkerMemory } }[MemoryReplyType]
  | { type: 'sample'; sample: WorkerSample };

export interface ForkedWorkers {
  /** Memory once the process has loaded, before any worker runs. */
  readonly ready: WorkerMemory;
  /** Starts the workers (a fresh runtime); resolves once they are connected, with the memory then. */
  start(): Promise<WorkerMemory>;
  /** Closes the workers (and their runtime); the process stays, warm, for the next start. */
  stopWorkers(): Promise<WorkerMemory>;
  memory(): Promise<WorkerMemory>;
  /** Memory as it stands (no collection) and the event-loop delay since the last sample (or the start). */
  sample(): Promise<WorkerSample>;
  /** Closes the runtime and waits for the process to exit; killed if it has not within 15 s. */
  stop(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL('../worker-process.ts', import.meta.url));
/** Bounds every question to the child: a wedged worker process must stop the bench, not hang it. */
const ANSWER_TIMEOUT_MS = 30_000;

function nextReply<Type extends WorkerReply['type']>(
  child: ChildProcess,
  type: Type,
): Promise<Extract<WorkerReply, { type: Type }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`bench worker process did not answer "${type}" within ${ANSWER_TIMEOUT_MS} ms`));
    }, ANSWER_TIMEOUT_MS);
    const onMessage = (message: WorkerReply) => {
      if (message.type !== type) return;
      cleanup();
      resolve(message as Extract<WorkerReply, { type: Type }>);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`bench worker process exited (${code}) before answering "${type}"`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** The rig's workers in a child process (bench/worker-process.ts) running the same config file. */
export async function forkWorkers(configInput: Record<string, unknown>): Promise<ForkedWorkers> {
  const child = fork(ENTRY, [], {
    // gc() lets the process tell live heap from garbage not yet collected (heapLive); the service's own
    // flags, since its memory is measured as deployed.
    execArgv: [...process.execArgv, '--expose-gc', ...SERVICE_NODE_FLAGS],
    env: { ...process.env, BENCH_WORKER_CONFIG: JSON.stringify(configInput) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const ask = async <Type extends WorkerReply['type']>(request: WorkerRequest, answer: Type) => {
    const reply = nextReply(child, answer);
    child.send(request);
    return reply;
  };
  const askMemory = async (request: WorkerRequest, answer: MemoryReplyType) =>
    (await ask(request, answer)).memory;
  const ready = await nextReply(child, 'ready');
  return {
    ready: ready.memory,
    start: () => askMemory({ type: 'start' }, 'started'),
    stopWorkers: () => askMemory({ type: 'stop-workers' }, 'stopped'),
    memory: () => askMemory({ type: 'memory' }, 'memory'),
    sample: async () => (await ask({ type: 'sample' }, 'sample')).sample,
    async stop() {
      if (child.exitCode === null && child.connected) child.send({ type: 'exit' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      process.off('exit', killOnExit);
    },
  };
}
