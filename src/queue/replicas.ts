import type { WaitReplicasConfig } from '../config/schema.ts';
import { describeError, PurgeError } from '../errors.ts';
import { purgeKey, replicationProbeKey } from '../status/keys.ts';
import { withTimeout } from '../with-timeout.ts';
import type { RedisClient } from './connection.ts';

/** How many replicas hold a purge's acceptance, of how many `redis.waitReplicas` asks for. */
export interface ReplicaAcknowledgement {
  acknowledged: number;
  required: number;
  /** Why none could be counted: the record is not on the primary, or Redis refused or did not answer. */
  problem?: string;
}

export interface ReplicaWaiter {
  readonly required: number;
  readonly timeoutMs: number;
  /** Waits (bounded) until the replicas acknowledged the purge's acceptance, and says how many did. */
  acknowledged(purgeId: string): Promise<ReplicaAcknowledgement>;
}

export interface ReplicaWaiterOptions extends WaitReplicasConfig {
  /**
   * A connection of its own: WAIT blocks the connection it is sent on, and status reads, health checks and
   * BullMQ's adds must not queue up behind it.
   */
  connection: RedisClient;
  prefix: string;
}

/** Beyond WAIT's own timeout, how long Redis gets to answer a round before it counts as unconfirmed. */
const ANSWER_MARGIN_MS = 1_000;
const PROBE_TTL_MS = 60_000;

interface Round {
  purgeIds: Set<string>;
  result: Promise<Map<string, ReplicaAcknowledgement>>;
}

/**
 * Confirms acceptances on the replicas with Redis WAIT. WAIT counts the writes of the connection it is sent
 * on, and acceptances are written on the producer's shared connection, so each round first writes a probe key
 * on this one: the primary's replication stream is one ordered stream, and a replica that acknowledged the
 * probe has everything the primary wrote before it. In the same pipeline, before the probe, the round checks
 * that each purge's record is on that primary (after a failover the new one may have lost it, and its own
 * replicas would then confirm nothing of ours). One pipeline carries a key, so on Redis Cluster it goes to the
 * primary of the prefix's slot, the one that holds the records; a WAIT sent alone would go to any node.
 *
 * Rounds run one at a time (WAIT blocks the connection), and every acceptance that asks while one runs joins
 * the next: an acceptance waits for at most the round under way and its own, each bounded by `timeoutMs`.
 */
export function createReplicaWaiter(options: ReplicaWaiterOptions): ReplicaWaiter {
  const { connection, prefix, replicas, timeoutMs } = options;
  let previous: Promise<unknown> = Promise.resolve();
  let gathering: Round | undefined;

  async function round(purgeIds: readonly string[]): Promise<Map<string, ReplicaAcknowledgement>> {
    const unconfirmed = (problem: string) =>
      new Map(purgeIds.map((id) => [id, { acknowledged: 0, required: replicas, problem }]));
    const pipeline = connection.pipeline();
    for (const id of purgeIds) pipeline.exists(purgeKey(prefix, id));
    pipeline.set(replicationProbeKey(prefix), String(Date.now()), 'PX', PROBE_TTL_MS);
    pipeline.wait(replicas, timeoutMs);
    let replies: Array<[Error | null, unknown]>;
    try {
      replies = (await withTimeout(pipeline.exec(), timeoutMs + ANSWER_MARGIN_MS, 'WAIT')) ?? [];
    } catch (error) {
      return unconfirmed(describeError(error));
    }
    const [probeError] = replies[purgeIds.length] ?? [new Error('no answer to the probe write')];
    const [waitError, count] = replies[purgeIds.length + 1] ?? [new Error('no answer to WAIT')];
    // Without the probe written here, WAIT would count an older write of this connection, or none at all.
    const failure = probeError ?? waitError;
    if (failure) return unconfirmed(failure.message);
    return new Map(
      purgeIds.map((id, index) => {
        const [error, exists] = replies[index] ?? [new Error('no answer')];
        if (error) return [id, { acknowledged: 0, required: replicas, problem: error.message }];
        if (exists !== 1) {
          const problem = 'the purge record is not on the primary WAIT ran on (lost in a failover?)';
          return [id, { acknowledged: 0, required: replicas, problem }];
        }
        return [id, { acknowledged: Number(count), required: replicas }];
      }),
    );
  }

  return {
    required: replicas,
    timeoutMs,
    async acknowledged(purgeId) {
      // Called once the acceptance has been answered, so any round that starts from now on comes after it.
      if (!gathering) {
        const purgeIds = new Set<string>();
        const result = previous.then(() => {
          gathering = undefined;
          return round([...purgeIds]);
        });
        gathering = { purgeIds, result };
        previous = result.catch(() => {});
      }
      const joined = gathering;
      joined.purgeIds.add(purgeId);
      const results = await joined.result;
      return results.get(purgeId) ?? { acknowledged: 0, required: replicas, problem: 'not in its round' };
    },
  };
}

/**
 * A purge that is accepted on the primary but not confirmed on enough replicas. It stays accepted (workers
 * carry it out); the caller is told so it can retry with the same idempotency key, which maps to this purge.
 */
export class NotReplicatedError extends PurgeError {
  readonly purgeId: string;
  readonly cdns: readonly string[];
  readonly acknowledged: number;
  readonly required: number;

  constructor(
    purge: { id: string; cdns: readonly string[] },
    ack: ReplicaAcknowledgement,
    timeoutMs: number,
  ) {
    super(
      'NOT_REPLICATED',
      `purge ${purge.id} is accepted on the Redis primary, but ${ack.acknowledged} of the ${ack.required} replicas ` +
        `asked for acknowledged it within ${timeoutMs} ms, so a failover could still lose it. Send the request ` +
        'again with the same idempotency key: it maps to this purge and enqueues nothing twice (without a key, ' +
        'a repeat is a new purge)',
      { retryable: true, retryAfterMs: 1_000 },
    );
    this.purgeId = purge.id;
    this.cdns = purge.cdns;
    this.acknowledged = ack.acknowledged;
    this.required = ack.required;
  }
}
