import { reasonClass } from '../model/reason-class.ts';
import type { StatusStore } from '../status/store.ts';
import type { PipelineEvents } from './events.ts';

/**
 * The store, telling `purge:finished` for every purge a batch transition ends (transition.lua names them,
 * once: a re-run after a crash finishes none). Every way a batch ends goes through `update` (the step, a job
 * BullMQ failed for good, the reconciler), so wrapping it here counts them all. Crash window: killed between
 * the transition and the event, that purge is not counted (counters are this process's, lost with it).
 */
export function reportingFinishedPurges(store: StatusStore, events: PipelineEvents): StatusStore {
  return {
    ...store,
    async update(...args) {
      const result = await store.update(...args);
      for (const purge of result.finished) {
        events.emit('purge:finished', {
          purgeId: purge.purgeId,
          state: purge.state,
          reason: reasonClass(purge.state, purge.errorCode),
          ...(purge.errorCode ? { errorCode: purge.errorCode } : {}),
        });
      }
      return result;
    },
  };
}
