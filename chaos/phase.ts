import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EVERY_FAULT } from '../src/simulator/faults.ts';
import { startSimulator } from '../src/simulator/server.ts';
import { freePort } from '../test/harness/redis-server.ts';
import { checkCoverage, waitForFinalStates } from './checker.ts';
import { API_TOKEN, chaosConfig, PREFIX, QUANTIL_ACCOUNT, VIMS_TOKEN } from './config.ts';
import { type Kills, startNemesis } from './nemesis.ts';
import { type Fsync, startReplicatedCluster, startSingleRedis } from './redis.ts';
import { planPurges, sendPurges } from './sender.ts';
import { phaseLog, serviceProcess } from './services.ts';

export type PhaseKind = 'everysec' | 'always' | 'cluster';

export interface PhaseOptions {
  kind: PhaseKind;
  purges: number;
  perSecond: number;
  faultRate: number;
  abandonRate: number;
  workers: number;
  random: () => number;
  log: (line: string) => void;
}

export interface PhaseResult {
  kind: PhaseKind;
  /** Purges the API answered 2xx for: accepted, so they must all end. */
  accepted: number;
  /** Accepted purges the API no longer knew at the end (404): lost. */
  lost: number;
  /** Accepted purges not ended when the check gave up: stuck. */
  stuck: number;
  /** Ended, but not succeeded (failed or timed out): not lost, yet not purged as asked. */
  notSucceeded: number;
  pairs: number;
  missedPairs: number;
  repeatTasks: number;
  tasks: number;
  kills: Kills;
  /** Submits the simulator accepted and then spoilt the answer of (its "accepted, reply lost" faults). */
  lostReplies: number;
  /** Faults the simulator applied in all, and API answers the sender walked away from. */
  faults: number;
  abandonedAnswers: number;
  senderAttempts: number;
  /** The sender's defects: a second id for a key, a 4xx, no answer at all. */
  problems: string[];
  sendSeconds: number;
  settleSeconds: number;
  logPath: string;
}

/**
 * One phase: its own Redis (AOF with `appendfsync everysec`, or `always`, or a 3+3 replicated cluster), a
 * simulator raining faults, one API process and `workers` worker processes; the purges sent through the
 * API while the nemesis kills processes (and Redis, or the master serving the rig's keys); then every
 * accepted purge waited on and checked against what the simulator was really asked to purge.
 */
export async function runPhase(options: PhaseOptions): Promise<PhaseResult> {
  const dir = await mkdtemp(join(tmpdir(), `pw-chaos-${options.kind}-`));
  const logPath = join(dir, 'services.log');
  const log = phaseLog(logPath);
  const fsync: Fsync = options.kind === 'always' ? 'always' : 'everysec';
  const single = options.kind === 'cluster' ? undefined : await startSingleRedis(fsync);
  const cluster = options.kind === 'cluster' ? await startReplicatedCluster(fsync) : undefined;
  const randomFaults = { rate: options.faultRate, faults: EVERY_FAULT, random: options.random };
  const simulator = await startSimulator({
    vims: { tokens: [VIMS_TOKEN], taskDurationMs: 200, randomFaults },
    quantil: {
      accounts: [QUANTIL_ACCOUNT],
      taskDurationMs: 200,
      randomFaults,
      dailyQuota: { files: 1_000_000, dirs: 1_000_000 },
    },
  });
  const apiPort = await freePort();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const configPath = join(dir, 'config.json');
  await writeFile(
    configPath,
    JSON.stringify(
      chaosConfig({
        redis: single
          ? { url: single.url }
          : { clusterNodes: cluster?.seeds ?? [], waitReplicas: { replicas: 1, timeoutMs: 500 } },
        simulatorUrl: simulator.url,
        apiPort,
        reconcileIntervalMs: 3_000,
      }),
    ),
  );
  const api = serviceProcess('api', 'api', configPath, log);
  const workers = Array.from({ length: options.workers }, (_, index) =>
    serviceProcess(`worker-${index + 1}`, 'worker', configPath, log),
  );
  try {
    await Promise.all([api.start(), ...workers.map((worker) => worker.start())]);
    const nemesis = startNemesis({
      workers,
      api,
      ...(single ? { crashRedis: () => single.crashAndRestart(500) } : {}),
      random: options.random,
      minGapMs: 1_500,
      log: options.log,
    });
    const sendStartedAt = performance.now();
    const planned = planPurges(`${options.kind}-${Date.now().toString(36)}`, options.purges, options.random);
    const sending = sendPurges(planned, {
      apiUrl,
      token: API_TOKEN,
      perSecond: options.perSecond,
      abandonRate: options.abandonRate,
      random: options.random,
      giveUpAfterMs: 120_000,
    });
    // The cluster's master fails over once, halfway through the sending, while purges are being accepted.
    if (cluster) {
      await sleep((options.purges / options.perSecond / 2) * 1000); // halfway: a moment, not a condition
      const { killed, promoted } = await cluster.failOver(PREFIX);
      nemesis.kills.failovers += 1;
      options.log(`nemesis: master on ${killed} killed, replica on ${promoted} took over`);
    }
    const sent = await sending;
    const sendSeconds = (performance.now() - sendStartedAt) / 1000;
    await nemesis.stop();
    options.log(`${options.kind}: sent in ${sendSeconds.toFixed(1)} s; waiting for every purge to end`);

    const accepted = sent.filter((purge) => purge.id !== undefined);
    const { states, settledMs } = await waitForFinalStates(
      apiUrl,
      API_TOKEN,
      accepted.map((purge) => purge.id as string),
      150_000,
    );
    const counts = { lost: 0, stuck: 0, notSucceeded: 0 };
    for (const state of states.values()) {
      if (state === 'missing') counts.lost += 1;
      else if (state === 'failed' || state === 'timed_out') counts.notSucceeded += 1;
      else if (state !== 'succeeded') counts.stuck += 1;
    }
    const coverage = checkCoverage(accepted, simulator);
    const applied = [...simulator.vims.faults.applied, ...simulator.quantil.faults.applied];
    return {
      kind: options.kind,
      accepted: accepted.length,
      ...counts,
      pairs: coverage.pairs,
      missedPairs: coverage.missed.length,
      repeatTasks: coverage.repeatTasks,
      tasks: coverage.tasks,
      kills: nemesis.kills,
      lostReplies: applied.filter((fault) => fault.op === 'submit' && fault.afterAccept).length,
      faults: applied.length,
      abandonedAnswers: sent.reduce((sum, purge) => sum + purge.abandoned, 0),
      senderAttempts: sent.reduce((sum, purge) => sum + purge.attempts, 0),
      problems: [
        ...sent.flatMap((purge) => purge.problems),
        ...coverage.missed.slice(0, 5).map((pair) => `never purged on ${pair.cdn}: ${pair.target}`),
      ],
      sendSeconds,
      settleSeconds: settledMs / 1000,
      logPath,
    };
  } finally {
    await Promise.all([api.stop(), ...workers.map((worker) => worker.stop())]);
    log.end();
    await simulator.close();
    await single?.stop();
    await cluster?.stop();
  }
}
