import { arch, cpus, loadavg, platform } from 'node:os';
import { acquireRedis, countSentCommands } from './redis.ts';
import { type RowSpec, renderTable, summarize, writeJson } from './report.ts';
import { baseline } from './scenarios/baseline.ts';
import type { BenchContext, Measurement, Measurements } from './scenarios/common.ts';
import { ingest } from './scenarios/ingest.ts';
import { pipeline } from './scenarios/pipeline.ts';
import { POLLS_PER_BATCH } from './scenarios/rig.ts';
import { stepJobBaseline } from './scenarios/step-job.ts';

const ROWS: RowSpec[] = [
  { id: 'baseline', label: 'baseline: bare BullMQ no-op jobs (c=8)', unit: 'jobs/s' },
  {
    id: 'step-job',
    label: `step-job baseline: bare BullMQ submit + ${POLLS_PER_BATCH} poll${POLLS_PER_BATCH === 1 ? '' : 's'} (c=8)`,
    unit: 'jobs/s',
    vs: { id: 'baseline', meaning: '÷ no-op baseline' },
  },
  {
    id: 'pipeline',
    label: 'pipeline, 1 CDN (VIMS, c=8)',
    unit: 'batches/s',
    vs: { id: 'step-job', meaning: '÷ step-job baseline' },
  },
  {
    id: 'fanout',
    label: 'fan-out, 2 CDNs (VIMS+QUANTIL, c=8 each)',
    unit: 'batches/s',
    vs: { id: 'pipeline', meaning: '÷ pipeline 1 CDN' },
  },
  {
    id: 'pipeline-c1',
    label: 'pipeline, 1 CDN (VIMS, c=1)',
    unit: 'batches/s',
    vs: { id: 'pipeline', meaning: 'scaling: c=8 ÷ c=1', invert: true },
  },
  {
    id: 'ingest-1',
    label: 'ingest, 1-URL purges (8 in flight)',
    unit: 'purges/s',
    vs: { id: 'baseline', meaning: '÷ no-op baseline' },
  },
  {
    id: 'ingest-100',
    label: 'ingest, 100-URL purges (8 in flight)',
    unit: 'purges/s',
    vs: { id: 'ingest-1', meaning: 'cost per purge ÷ 1-URL', invert: true },
  },
];

function positiveInt(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    // The upper bound for N is QUANTIL's daily quota (5000 file URLs), which fan-out would hit.
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/** Every scenario once. Rounds interleave scenarios so slow drift of the machine hits all of them alike. */
async function round(ctx: BenchContext): Promise<Measurements> {
  return {
    ...(await baseline(ctx)),
    ...(await stepJobBaseline(ctx)),
    ...(await pipeline(ctx, { id: 'pipeline', cdns: ['vims'], concurrency: 8 })),
    ...(await pipeline(ctx, { id: 'fanout', cdns: ['vims', 'quantil'], concurrency: 8 })),
    ...(await pipeline(ctx, { id: 'pipeline-c1', cdns: ['vims'], concurrency: 1 })),
    ...(await ingest(ctx)),
  };
}

async function main(): Promise<void> {
  const n = positiveInt('BENCH_N', 500, 10, 5000);
  const rounds = positiveInt('BENCH_ROUNDS', 5, 1, 20);
  const startedAt = performance.now();
  const redis = await acquireRedis();
  const samples = new Map<string, Measurement[]>();
  try {
    const ctx: BenchContext = { redisUrl: redis.url, n, commandsSent: countSentCommands() };
    process.stderr.write(`bench: N=${n}, ${rounds} rounds, Redis ${redis.version} (${redis.source})\n`);
    // Untimed and full size: V8 keeps optimising ioredis/BullMQ paths for thousands of jobs (a cold
    // process measured the baseline at half its later rate), so a short warm-up left round 1 an outlier.
    await round(ctx);
    process.stderr.write('bench: warm-up round done\n');
    for (let index = 0; index < rounds; index++) {
      const roundStartedAt = performance.now();
      const measured = await round(ctx);
      for (const [id, measurement] of Object.entries(measured)) {
        samples.set(id, [...(samples.get(id) ?? []), measurement]);
      }
      const seconds = ((performance.now() - roundStartedAt) / 1000).toFixed(1);
      process.stderr.write(`bench: round ${index + 1}/${rounds} done in ${seconds} s\n`);
    }
  } finally {
    await redis.stop();
  }

  const results = summarize(ROWS, samples);
  const durationMs = Math.round(performance.now() - startedAt);
  const cpuList = cpus();
  const machine = {
    node: process.version,
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    platform: `${platform()} ${arch()}`,
    loadavg: loadavg().map((value) => Number(value.toFixed(2))),
    redis: `${redis.version} (${redis.source})`,
  };
  process.stdout.write(
    `machine: node ${machine.node}, ${machine.cpus} cpus (${machine.cpuModel}), ${machine.platform}, ` +
      `redis ${machine.redis}, load ${machine.loadavg.join(' ')}\n`,
  );
  process.stdout.write(
    `N=${n} per run, ${rounds} rounds (median shown), total ${(durationMs / 1000).toFixed(1)} s\n\n`,
  );
  process.stdout.write(`${renderTable(results)}\n`);
  process.stdout.write(
    '\nratio: median of per-round ratios (each round measures every scenario back to back).\n' +
      'redis cmds/item: commands this process sent to Redis per job, batch or purge; a Lua script call is one.\n',
  );
  await writeJson(new URL('./results/latest.json', import.meta.url), {
    finishedAt: new Date().toISOString(),
    durationMs,
    n,
    rounds,
    machine,
    results,
  });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
