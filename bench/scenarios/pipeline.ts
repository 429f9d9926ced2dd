import { type BenchContext, inLanes, type Measurements, startStretch, waitForCompleted } from './common.ts';
import { benchUrl, type CdnKind, POLLS_PER_BATCH, type Rig, startRig } from './rig.ts';

export interface PipelineOptions {
  /** Result row id the run's batches/s is reported under. */
  id: string;
  cdns: readonly CdnKind[];
  concurrency: number;
}

/**
 * N single-URL purges through the real producer, then the real workers against the simulator: each batch
 * is one submit, a status write per step, and POLLS_PER_BATCH polls re-delayed through BullMQ.
 */
export async function pipeline(ctx: BenchContext, options: PipelineOptions): Promise<Measurements> {
  const rig = await startRig(ctx, options.cdns, options.concurrency);
  try {
    // Enqueued before the clock starts: ingest has a scenario of its own.
    let batches = 0;
    await inLanes(ctx.n, 8, async (index) => {
      const result = await rig.runtime.producer.enqueuePurge({ urls: [benchUrl(index)] });
      batches += result.cdns.length;
    });
    const stretch = startStretch(ctx);
    rig.runtime.startWorkers();
    const polls = await waitForCompleted(rig.queues, batches);
    const measurement = stretch.finish(batches, polls);
    checkPollsPerBatch(rig, batches);
    return { [options.id]: measurement };
  } finally {
    await rig.close();
  }
}

/**
 * The step-job baseline makes POLLS_PER_BATCH polls per job; a batch making more or fewer (the simulator's
 * task duration or the poll policy changed) would make `÷ step-job` compare different work, so it stops.
 */
function checkPollsPerBatch(rig: Rig, batches: number): void {
  const { vims, quantil } = rig.simulator;
  const statusCalls = [...vims.requests, ...quantil.requests].filter((r) => r.op === 'status').length;
  if (statusCalls !== batches * POLLS_PER_BATCH) {
    throw new Error(
      `${batches} batches made ${statusCalls} polls, expected ${POLLS_PER_BATCH} each: ` +
        'update POLLS_PER_BATCH in bench/scenarios/rig.ts',
    );
  }
}
