import { monitorEventLoopDelay } from 'node:perf_hooks';

/** How late the event loop's timers fired over a window, in ms. */
export interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
  /** Timer firings the window holds. */
  count: number;
}

/** Node's default: a timer every 10 ms, each interval between its firings recorded. */
const RESOLUTION_MS = 10;

/**
 * perf_hooks monitorEventLoopDelay, read window by window: each read reports the window since the previous
 * one and starts the next. The histogram holds whole intervals in ns (an idle loop records about 10 ms), so
 * the timer's own period is taken off: what is left is how late it fired.
 */
export function startLoopDelayMonitor(): { read(): LoopDelay; stop(): void } {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  const lateMs = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  return {
    read() {
      const delay = {
        p50: lateMs(histogram.percentile(50)),
        p99: lateMs(histogram.percentile(99)),
        max: lateMs(histogram.max),
        count: histogram.count,
      };
      histogram.reset();
      return delay;
    },
    stop: () => histogram.disable(),
  };
}
