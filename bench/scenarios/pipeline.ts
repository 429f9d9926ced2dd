import { type BenchContext, inLanes, type Measurements, startStretch, waitForCompleted } from './common.ts';
import { benchUrl, type CdnKind, startRig } from './rig.ts';

export interface PipelineOptions {
  /** Result row id the run's batches/s is reported under. */
  id: string;
  cdns: readonly CdnKind[];
  concurrency: number;
}

/**
 * N single-URL purges through the real producer, then the real workers against the simulator: each batch
 * is one submit, a status write per step, and one or two polls re-delayed through BullMQ.
 */
export async function pipeline(ctx: BenchContext, options: PipelineOptions): Promise<Measurements> {
  const rig = await startRig(ctx, options.cdns, options.concurrency);
  try {
    // Enqueued before the clock starts: ingest has a scenario of its own.
    let batches = 0;
    await inLanes(ctx.n, 8, async (index) => {
      const result = await rig.runtime.producer.enqueuePurge({ urls: [benchUrl(index)] });
      batches += result.batches;
    });
    const stretch = startStretch(ctx);
    rig.runtime.startWorkers();
    const polls = await waitForCompleted(rig.queues, batches);
    return { [options.id]: stretch.finish(batches, polls) };
  } finally {
    await rig.close();
  }
}
