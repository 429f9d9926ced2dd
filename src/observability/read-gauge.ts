import { Counter, Gauge, type Registry } from 'prom-client';
import { withTimeout } from '../with-timeout.ts';

/** Longest a gauge's Redis reads may take in one scrape: a slow Redis must not hold the scrape past its own timeout. */
const READ_TIMEOUT_MS = 2_000;

const SCRAPE_ERRORS = 'purge_worker_scrape_errors_total';

export type GaugeSample = readonly [labels: Record<string, string>, value: number];

/**
 * Gauges read from Redis at scrape time, each read on its own: a read that fails or is slow leaves that
 * gauge's series out of this scrape and counts the failure (`purge_worker_scrape_errors_total{gauge}`),
 * rather than failing the whole scrape (prom-client renders every metric together, and one rejection
 * would take the counters, histograms and process metrics down with it). Values are read first and set
 * after, in one synchronous step, so two scrapes that overlap never see each other's reset.
 */
export function createRedisGauges(registry: Registry) {
  // One counter per registry, whichever module's gauges ask for it first.
  const errors =
    (registry.getSingleMetric(SCRAPE_ERRORS) as Counter<'gauge'> | undefined) ??
    new Counter({
      name: SCRAPE_ERRORS,
      help: 'Gauges read from Redis at scrape time that failed or timed out (their series were left out of that scrape; counted from the next), by gauge',
      labelNames: ['gauge'],
      registers: [registry],
    });
  return {
    add(options: {
      name: string;
      help: string;
      labelNames: readonly string[];
      read: () => Promise<readonly GaugeSample[]> | readonly GaugeSample[];
    }): void {
      const { name, read } = options;
      new Gauge({
        name,
        help: options.help,
        labelNames: options.labelNames,
        registers: [registry],
        async collect() {
          let samples: readonly GaugeSample[] = [];
          try {
            samples = await withTimeout(Promise.resolve(read()), READ_TIMEOUT_MS, name);
          } catch {
            errors.inc({ gauge: name });
          }
          this.reset();
          for (const [labels, value] of samples) this.set(labels, value);
        },
      });
    },
  };
}
