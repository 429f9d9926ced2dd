import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceProcess } from './services.ts';

/** What the nemesis did in a phase, counted for the report (and the repeat budget). */
export interface Kills {
  workers: number;
  api: number;
  redis: number;
  failovers: number;
}

export interface Nemesis {
  kills: Kills;
  /**
   * Stops once every kind of action has run once (the rest of them at once), and waits until every process
   * it killed runs again.
   */
  stop(): Promise<void>;
}

export interface NemesisOptions {
  workers: readonly ServiceProcess[];
  api: ServiceProcess;
  /** Crashes Redis (SIGKILL) and starts it again from its AOF; absent on a cluster phase. */
  crashRedis?: () => Promise<void>;
  random: () => number;
  /** Pause between two actions: from `minGapMs` to twice that. */
  minGapMs: number;
  log: (line: string) => void;
}

type Action = 'worker' | 'workers' | 'all-workers' | 'api' | 'redis';

/**
 * Kills, at random moments, one worker, two at once, all three, the API process, or Redis (restarted from
 * its AOF), each with SIGKILL and started again after a short outage. The first actions run every kind once
 * (in random order), so even a short phase sees each; later ones are drawn at random.
 */
export function startNemesis(options: NemesisOptions): Nemesis {
  const kills: Kills = { workers: 0, api: 0, redis: 0, failovers: 0 };
  const kinds: Action[] = [
    'worker',
    'workers',
    'api',
    'all-workers',
    ...(options.crashRedis ? ['redis' as const] : []),
  ];
  const firstRound = kinds.slice().sort(() => options.random() - 0.5);
  let stopping = false;
  const stopped = new AbortController();
  const outage = () => 200 + Math.floor(options.random() * 800);

  async function killAndRestart(victims: readonly ServiceProcess[]): Promise<void> {
    await Promise.all(victims.map((victim) => victim.kill()));
    await sleep(outage()); // the outage: other processes see these gone
    await Promise.all(victims.map((victim) => victim.start()));
  }

  async function act(action: Action): Promise<void> {
    const shuffled = options.workers.slice().sort(() => options.random() - 0.5);
    const victims =
      action === 'worker'
        ? shuffled.slice(0, 1)
        : action === 'workers'
          ? shuffled.slice(0, 2)
          : action === 'all-workers'
            ? shuffled
            : [];
    options.log(`nemesis: ${action}`);
    if (action === 'api') {
      kills.api += 1;
      await killAndRestart([options.api]);
    } else if (action === 'redis' && options.crashRedis) {
      kills.redis += 1;
      await options.crashRedis();
    } else {
      kills.workers += victims.length;
      await killAndRestart(victims);
    }
  }

  const done = (async () => {
    // Once stopped, only what is left of the first round runs (at once): every kind, even in a short phase.
    for (let index = 0; !stopping || index < firstRound.length; index++) {
      const gap = options.minGapMs + Math.floor(options.random() * options.minGapMs);
      await sleep(gap, undefined, { signal: stopped.signal }).catch(() => {});
      if (stopping && index >= firstRound.length) break;
      const action = firstRound[index] ?? (kinds[Math.floor(options.random() * kinds.length)] as Action);
      await act(action);
    }
  })();

  return {
    kills,
    async stop() {
      stopping = true;
      stopped.abort();
      await done;
      // A start that failed mid-action leaves a process down: the check phase needs them all.
      for (const service of [options.api, ...options.workers]) if (!service.running()) await service.start();
    },
  };
}
