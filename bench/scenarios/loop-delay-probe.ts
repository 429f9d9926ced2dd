import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoopDelay } from '../loop-delay.ts';

export type ProbeRequest = { type: 'sample' } | { type: 'exit' };
export type ProbeReply = { type: 'ready' } | { type: 'sample'; loopDelay: LoopDelay };

export interface LoopDelayProbe {
  /** The probe's loop delay since its previous sample (or its start). */
  sample(): Promise<LoopDelay>;
  stop(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL('../loop-delay-probe-process.ts', import.meta.url));
const ANSWER_TIMEOUT_MS = 30_000;

/** Forks bench/loop-delay-probe-process.ts and waits until it watches its loop. */
export async function startLoopDelayProbe(): Promise<LoopDelayProbe> {
  const child = fork(ENTRY, [], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = <Type extends ProbeReply['type']>(type: Type) =>
    new Promise<Extract<ProbeReply, { type: Type }>>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`loop delay probe did not answer "${type}" within ${ANSWER_TIMEOUT_MS} ms`));
      }, ANSWER_TIMEOUT_MS);
      const onMessage = (message: ProbeReply) => {
        if (message.type !== type) return;
        cleanup();
        resolve(message as Extract<ProbeReply, { type: Type }>);
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`loop delay probe exited (${code}) before answering "${type}"`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  await next('ready');
  return {
    async sample() {
      const reply = next('sample');
      child.send({ type: 'sample' } satisfies ProbeRequest);
      return (await reply).loopDelay;
    },
    async stop() {
      if (child.exitCode === null && child.connected) child.send({ type: 'exit' } satisfies ProbeRequest);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
      process.off('exit', killOnExit);
    },
  };
}
