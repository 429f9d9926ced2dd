// `npm run chaos`: the whole system under fire, on loopback. See README "Chaos rig" for what it checks.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { seededRandom } from '../bench/scenarios/soak-mix.ts';
import { type PhaseKind, type PhaseResult, runPhase } from './phase.ts';

const PHASES: readonly PhaseKind[] = ['everysec', 'always', 'cluster'];

function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function rateFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(value >= 0 && value <= 0.5)) throw new Error(`${name} must be a number from 0 to 0.5, got "${raw}"`);
  return value;
}

function phasesFromEnv(fallback: readonly PhaseKind[]): PhaseKind[] {
  const raw = process.env.CHAOS_PHASES;
  if (!raw) return [...fallback];
  const names = raw.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !PHASES.includes(name as PhaseKind));
  if (unknown.length > 0)
    throw new Error(`CHAOS_PHASES: unknown ${unknown.join(', ')} (${PHASES.join(', ')})`);
  return names as PhaseKind[];
}

/** Why a phase fails the run: any accepted purge lost or stuck, a pair never purged, too many repeats. */
function failures(result: PhaseResult): string[] {
  const budget = repeatBudget(result);
  return [
    ...(result.lost > 0 ? [`${result.lost} accepted purge(s) lost`] : []),
    ...(result.stuck > 0 ? [`${result.stuck} accepted purge(s) stuck`] : []),
    ...(result.notSucceeded > 0 ? [`${result.notSucceeded} purge(s) ended failed or timed out`] : []),
    ...(result.missedPairs > 0 ? [`${result.missedPairs} (target, CDN) pair(s) never purged`] : []),
    ...(result.repeatTasks > budget ? [`${result.repeatTasks} repeat submits, more than ${budget}`] : []),
    ...result.problems.slice(0, 10),
  ];
}

/**
 * What may cause a repeat submit: each process kill (a batch in flight is re-run), each Redis crash or
 * failover (every worker's in-flight batches are), each answer the CDN lost after accepting.
 */
function repeatBudget(result: PhaseResult): number {
  const { workers, api, redis, failovers } = result.kills;
  return workers + api + redis + failovers + result.lostReplies;
}

function row(result: PhaseResult): string[] {
  const { workers, api, redis, failovers } = result.kills;
  const budget = repeatBudget(result);
  return [
    result.kind === 'cluster' ? 'cluster 3+3, waitReplicas 1' : `AOF ${result.kind}`,
    String(result.accepted),
    String(result.lost),
    String(result.stuck),
    String(result.notSucceeded),
    `${result.pairs - result.missedPairs}/${result.pairs}`,
    `${result.repeatTasks}/${budget} = ${(result.repeatTasks / Math.max(1, budget)).toFixed(2)}`,
    `${workers} workers, ${api} api, ${redis} redis, ${failovers} failover`,
    `${result.faults} (${result.lostReplies} after accepting), ${result.abandonedAnswers} API answers dropped`,
    `${result.sendSeconds.toFixed(0)} s + ${result.settleSeconds.toFixed(0)} s`,
  ];
}

function table(rows: string[][]): string {
  const header = [
    'phase',
    'accepted',
    'lost',
    'stuck',
    'not ok',
    'pairs purged',
    'repeats / budget',
    'kills',
    'CDN faults',
    'send + settle',
  ];
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((cells) => (cells[column] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const short = process.argv.includes('--short') || process.env.CHAOS_SHORT === '1';
  const seed = intFromEnv('CHAOS_SEED', Math.floor(Math.random() * 2 ** 31), 0, 2 ** 31);
  const purges = intFromEnv('CHAOS_PURGES', short ? 150 : 500, 10, 5_000);
  const perSecond = intFromEnv('CHAOS_RATE', short ? 15 : 20, 1, 500);
  const phases = phasesFromEnv(short ? ['always', 'cluster'] : PHASES);
  const faultRate = rateFromEnv('CHAOS_FAULT_RATE', 0.05);
  const abandonRate = rateFromEnv('CHAOS_ABANDON_RATE', 0.05);
  const random = seededRandom(seed);
  const log = (line: string) => process.stdout.write(`chaos: ${line}\n`);
  log(
    `seed ${seed}; ${purges} purges per phase at ${perSecond}/s; phases ${phases.join(', ')}; ` +
      `CDN fault rate ${faultRate}, API answers dropped ${abandonRate}; 1 API + 3 worker processes`,
  );
  const results: PhaseResult[] = [];
  for (const kind of phases) {
    log(`${kind}: starting`);
    const result = await runPhase({
      kind,
      purges,
      perSecond,
      faultRate,
      abandonRate,
      workers: 3,
      random,
      log,
    });
    results.push(result);
    const failed = failures(result);
    if (failed.length === 0) {
      log(`${kind}: ok`);
      // Only a failed phase's logs are worth keeping.
      await rm(dirname(result.logPath), { recursive: true, force: true });
    } else {
      log(`${kind}: FAILED: ${failed.join('; ')} (every process's log: ${result.logPath})`);
    }
  }
  process.stdout.write(`\n${table(results.map(row))}\n\n`);
  process.stdout.write(
    'lost: accepted (202) but unknown at the end; stuck: not ended within 150 s; not ok: ended failed or timed out;\n' +
      'pairs purged: (target, CDN) pairs the simulator accepted a purge of, read off its own record;\n' +
      'repeats: accepted submits covering a pair already covered, against kills + answers lost after accepting.\n',
  );
  const resultsDir = new URL('./results/', import.meta.url);
  await mkdir(resultsDir, { recursive: true });
  await writeFile(
    new URL('latest.json', resultsDir),
    `${JSON.stringify({ seed, purges, perSecond, results }, null, 2)}\n`,
  );
  const failed = results.filter((result) => failures(result).length > 0);
  if (failed.length > 0) {
    process.stdout.write(
      `chaos: FAILED (${failed.map((r) => r.kind).join(', ')}); replay with CHAOS_SEED=${seed}\n`,
    );
    process.exitCode = 1;
  } else {
    process.stdout.write('chaos: every accepted purge ended and every pair was purged\n');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`chaos: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 2;
});
