import type { Redis } from 'ioredis';
import { pendingKey, planKey, purgeKey, waitingKey } from '../../src/status/keys.ts';
import { atMost, type TargetResult } from '../report.ts';
import { startCoalescingRig } from './coalescing-rig.ts';
import { type BenchContext, inLanes } from './common.ts';
import { benchUrl, CDN_ID } from './rig.ts';

const TARGET_BYTES = 2048;
/** Purge records sampled for the breakdown (MEMORY USAGE of each of their keys). */
const SAMPLED_RECORDS = 50;

export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  const used = /used_memory:(\d+)/.exec(info)?.[1];
  if (used === undefined) throw new Error('INFO memory has no used_memory');
  return Number(used);
}

async function keyBytes(redis: Redis, key: string): Promise<number> {
  // SAMPLES 0: every element counted, not an estimate from the first five.
  return Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
}

/**
 * Redis bytes an accepted, not yet sent, one-URL purge holds: INFO memory's used_memory before and after
 * `purges` purges routed to both CDNs with no worker running, ÷ purges. The breakdown (MEMORY USAGE of its
 * keys) says where they go: its record and plan, each CDN's pending set and waiting hash, BullMQ's
 * per-queue event stream (each deduplicated flush add appends to it, up to its cap), and the rest.
 * Redis's allocator makes any one key's figure approximate; the total over thousands is not. On a shared
 * REDIS_URL other clients' writes land in the same figure: run it on the bench's own redis-server.
 */
export async function memory(ctx: BenchContext, purges: number): Promise<TargetResult[]> {
  const rig = await startCoalescingRig(ctx);
  try {
    const { producer } = rig.runtime;
    // One first: the flush jobs, queue metadata and script cache are there before any purge is counted.
    await producer.enqueuePurge({ urls: [benchUrl(0, 4)] });
    const before = await usedMemory(rig.redis);
    const ids: string[] = [];
    await inLanes(purges, 8, async (index) => {
      ids.push((await producer.enqueuePurge({ urls: [benchUrl(index + 1, 4)] })).id);
    });
    const after = await usedMemory(rig.redis);
    const perPurge = (after - before) / purges;

    const prefix = rig.runtime.config.redis.prefix;
    const sample = ids.slice(0, SAMPLED_RECORDS);
    let recordBytes = 0;
    for (const id of sample) {
      recordBytes +=
        (await keyBytes(rig.redis, purgeKey(prefix, id))) + (await keyBytes(rig.redis, planKey(prefix, id)));
    }
    const perRecord = recordBytes / sample.length;
    let pendingBytes = 0;
    for (const kind of rig.cdns) {
      pendingBytes += await keyBytes(rig.redis, pendingKey(prefix, CDN_ID[kind]));
      pendingBytes += await keyBytes(rig.redis, waitingKey(prefix, CDN_ID[kind]));
    }
    const perPending = pendingBytes / (purges + 1);
    let eventBytes = 0;
    for (const queue of rig.queues) eventBytes += await keyBytes(rig.redis, `${queue.qualifiedName}:events`);
    const perEvent = eventBytes / (purges + 1);
    const rest = perPurge - perRecord - perPending - perEvent;
    const kib = (bytes: number) => `${(bytes / 1024).toFixed(2)} KiB`;
    return [
      {
        id: 'memory',
        label: 'memory: Redis bytes per in-flight 1-URL purge',
        figure: `${perPurge.toFixed(0)} B`,
        value: perPurge,
        target: `<= ${TARGET_BYTES} B`,
        met: atMost(perPurge, TARGET_BYTES),
        detail:
          `${purges} purges to ${rig.cdns.length} CDNs, no worker: ${kib(after - before)} in all; record + ` +
          `plan ${perRecord.toFixed(0)} B, pending + waiting (both CDNs) ${perPending.toFixed(0)} B, ` +
          `BullMQ event streams ${perEvent.toFixed(0)} B, rest ${rest.toFixed(0)} B`,
      },
    ];
  } finally {
    await rig.close();
  }
}
