import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { startTestApi, type TestApi } from '../harness/api.ts';
import { QUANTIL_RIG, VIMS_RIG } from '../harness/cdn-rigs.ts';
import { functionArguments, metricNamesIn, monitoringExpressions } from '../harness/monitoring-files.ts';
import { metricTypes } from '../harness/prometheus-text.ts';

/** The suffixes Prometheus gives a histogram's (or summary's) series, beside the family's own name. */
const SERIES_SUFFIXES = ['_bucket', '_sum', '_count'];

/** A series name as the scrape declares it: the family and its type, or undefined for a name it has not. */
function familyOf(types: Map<string, string>, name: string): { family: string; type: string } | undefined {
  const own = types.get(name);
  if (own !== undefined) return { family: name, type: own };
  for (const suffix of SERIES_SUFFIXES) {
    if (!name.endsWith(suffix)) continue;
    const family = name.slice(0, -suffix.length);
    const type = types.get(family);
    if (type === 'histogram' || type === 'summary') return { family, type: `${type}${suffix}` };
  }
  return undefined;
}

/**
 * The alerts and the dashboard, held against what a running service (API, workers, both CDNs, a purge
 * done) really exports: a renamed metric would otherwise leave an alert that can never fire and a panel
 * that shows "No data" with nothing to say why.
 */
describe('deploy/: the rules and the dashboard name real metrics', () => {
  let simulator: Simulator;
  let api: TestApi;
  let types: Map<string, string>;

  beforeAll(async () => {
    simulator = await startSimulator({
      ...VIMS_RIG.simulatorOptions({ taskDurationMs: 20 }),
      ...QUANTIL_RIG.simulatorOptions({ taskDurationMs: 20 }),
    });
    api = await startTestApi(
      simulator.url,
      { cdns: [VIMS_RIG.cdnEntry(simulator.url), QUANTIL_RIG.cdnEntry(simulator.url)] },
      { workers: true },
    );
    const { id } = await api.service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/monitored.html'],
    });
    expect((await api.service.waitForFinish(id)).state).toBe('succeeded');
    const scrape = await api.app.inject({ url: '/metrics' });
    expect(scrape.statusCode).toBe(200);
    types = metricTypes(scrape.body);
  });
  afterAll(async () => {
    await api.close();
    await simulator.close();
  });

  it('reads the metric names the parser expects from PromQL', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.95, sum by (cdn, le) (rate(purge_worker_a_bucket{cdn=~"purge_worker_not_a_name"}[5m]))) / purge_worker_b',
      ),
    ).toEqual(['purge_worker_a_bucket', 'purge_worker_b']);
    expect(
      functionArguments('sum(rate(purge_worker_c_total[5m])) + max(delta( purge_worker_d[1h]))'),
    ).toEqual([
      { fn: 'rate', metric: 'purge_worker_c_total' },
      { fn: 'delta', metric: 'purge_worker_d' },
    ]);
    expect(familyOf(new Map([['purge_worker_h', 'histogram']]), 'purge_worker_h_bucket')).toEqual({
      family: 'purge_worker_h',
      type: 'histogram_bucket',
    });
    expect(familyOf(new Map([['purge_worker_g', 'gauge']]), 'purge_worker_g_count')).toBeUndefined();
  });

  it('names in every expression only metrics the service exports', () => {
    const expressions = monitoringExpressions();
    expect(expressions.filter(({ where }) => where.startsWith('rules.yml')).length).toBeGreaterThanOrEqual(
      10,
    );
    expect(expressions.filter(({ where }) => where.startsWith('dashboard')).length).toBeGreaterThanOrEqual(
      20,
    );
    const unknown = expressions.flatMap(({ where, expr }) =>
      metricNamesIn(expr)
        .filter((name) => familyOf(types, name) === undefined)
        .map((name) => `${where}: ${name}`),
    );
    expect(unknown).toEqual([]);
    // Every expression reads at least one of ours (absent() included).
    for (const { where, expr } of expressions) expect(metricNamesIn(expr).length, where).toBeGreaterThan(0);
  });

  it('takes rates of counters only, and deltas of gauges only', () => {
    const misused = monitoringExpressions().flatMap(({ where, expr }) =>
      functionArguments(expr).flatMap(({ fn, metric }) => {
        const type = familyOf(types, metric)?.type ?? 'unknown';
        const counting =
          type === 'counter' || type.endsWith('_bucket') || type.endsWith('_sum') || type.endsWith('_count');
        const fine = ['rate', 'irate', 'increase'].includes(fn)
          ? counting
          : ['delta', 'deriv'].includes(fn)
            ? type === 'gauge'
            : true;
        return fine ? [] : [`${where}: ${fn}(${metric}) on a ${type}`];
      }),
    );
    expect(misused).toEqual([]);
  });

  it("covers the panels an operator opens first, and the new metrics' alerts", () => {
    const dashboardNames = new Set(
      monitoringExpressions()
        .filter(({ where }) => where.startsWith('dashboard'))
        .flatMap(({ expr }) => metricNamesIn(expr)),
    );
    for (const name of [
      'purge_worker_time_to_completion_seconds_bucket',
      'purge_worker_purges_accepted_total',
      'purge_worker_purges_finished_total',
      'purge_worker_cdn_requests_total',
      'purge_worker_queue_jobs',
      'purge_worker_queue_oldest_waiting_seconds',
      'purge_worker_queue_workers',
      'purge_worker_retries_total',
      'purge_worker_rate_limit_pauses_total',
      'purge_worker_callbacks_total',
      'purge_worker_time_to_fresh_seconds_bucket',
      'purge_worker_verifications_total',
    ])
      expect(dashboardNames, name).toContain(name);
  });
});
