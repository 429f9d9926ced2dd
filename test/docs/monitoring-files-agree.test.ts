import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.ts';
import {
  alertRules,
  dashboard,
  monitoringExpressions,
  panelsOf,
  readmeAlerts,
  readRepoFile,
  withGrafanaVariablesFilled,
} from '../harness/monitoring-files.ts';
import { requireTool } from '../harness/requirement.ts';

interface Service {
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
}
const compose = parse(readRepoFile('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
};
/** host path → container path of a service's bind mounts (`./a:/b:ro`). */
const mounts = (service: Service | undefined) =>
  new Map(
    (service?.volumes ?? [])
      .map((volume) => volume.split(':'))
      .filter(([host]) => host?.startsWith('./'))
      .map(([host, target]) => [host?.slice(2) ?? '', target ?? '']),
  );
const squash = (text: string | undefined) => text?.replace(/\s+/g, ' ').trim();

describe("README's alerts and deploy/prometheus/rules.yml", () => {
  it('list the same alerts, in the same order, with the same expressions and durations', () => {
    const readme = readmeAlerts().map(({ alert, expr, for: after }) => [alert, squash(expr), after]);
    const rules = alertRules().map(({ alert, expr, for: after }) => [alert, squash(expr), after]);
    expect(readme.length).toBeGreaterThan(0);
    expect(rules).toEqual(readme);
  });

  it('give every rule a severity and a summary', () => {
    for (const rule of alertRules()) {
      expect(['critical', 'warning'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
    }
  });

  it('alert on a deployment with no live worker, and on polls nobody takes', () => {
    const byName = new Map(alertRules().map((rule) => [rule.alert, rule]));
    expect(byName.get('NoLiveWorker')).toMatchObject({
      expr: 'max by (queue) (purge_worker_queue_workers) == 0',
      for: '2m',
    });
    expect(byName.get('DelayedJobsOverdue')?.expr).toContain('purge_worker_queue_overdue_delayed_jobs');
  });
});

describe('the monitoring profile', () => {
  const prometheus = compose.services.prometheus;
  const grafana = compose.services.grafana;

  it('mounts the Prometheus config and the rules where the config says they are', () => {
    const mounted = mounts(prometheus);
    const configPath = mounted.get('deploy/prometheus/prometheus.yml');
    expect(prometheus?.command).toContain(`--config.file=${configPath}`);
    const config = parse(readRepoFile('deploy/prometheus/prometheus.yml')) as { rule_files: string[] };
    expect(config.rule_files).toEqual([mounted.get('deploy/prometheus/rules.yml')]);
  });

  it('scrapes the api and every worker on the ports the compose config gives them', () => {
    const env = parseEnv(readRepoFile('examples/demo.env'));
    const service = parseConfig(JSON.parse(readRepoFile('examples/compose.json')), env);
    const config = parse(readRepoFile('deploy/prometheus/prometheus.yml')) as {
      scrape_configs: Array<{
        static_configs: Array<{ targets: string[] }>;
        dns_sd_configs: Array<{ names: string[]; port: number }>;
      }>;
    };
    const [job] = config.scrape_configs;
    expect(job?.static_configs.flatMap((group) => group.targets)).toEqual([`api:${service.api.port}`]);
    expect(job?.dns_sd_configs).toMatchObject([{ names: ['worker'], port: service.metrics.port }]);
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['api', 'worker']));
  });

  it('provisions Grafana with the dashboard, from where the provider looks, on the datasource it names', () => {
    const mounted = mounts(grafana);
    expect(mounted.get('deploy/grafana/provisioning')).toBe('/etc/grafana/provisioning');
    const provider = parse(readRepoFile('deploy/grafana/provisioning/dashboards/purge-worker.yml')) as {
      providers: Array<{ options: { path: string } }>;
    };
    const dashboardsAt = mounted.get('deploy/grafana/dashboards');
    expect(provider.providers.map((p) => p.options.path)).toEqual([dashboardsAt]);
    const home = grafana?.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? '';
    expect(home.startsWith(`${dashboardsAt}/`)).toBe(true);
    expect(
      existsSync(
        new URL(`../../deploy/grafana/dashboards/${home.slice(`${dashboardsAt}/`.length)}`, import.meta.url),
      ),
    ).toBe(true);

    const sources = parse(readRepoFile('deploy/grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: Array<{ uid: string; type: string; url: string }>;
    };
    expect(sources.datasources).toMatchObject([{ type: 'prometheus', url: 'http://prometheus:9090' }]);
    const uid = sources.datasources[0]?.uid;
    const board = dashboard();
    const used = [
      ...panelsOf(board)
        .filter((panel) => panel.type !== 'row')
        .flatMap((panel) => [
          panel.datasource?.uid,
          ...(panel.targets ?? []).map((target) => target.datasource?.uid),
        ]),
      ...board.templating.list.map((variable) => variable.datasource?.uid),
    ];
    expect(new Set(used)).toEqual(new Set([uid]));
  });
});

describe("Prometheus's own checks (promtool)", () => {
  const promtool = spawnSync('promtool', ['--version']).status === 0;
  const available = requireTool(
    promtool,
    'promtool checks',
    'promtool (Debian: prometheus) is not installed',
  );
  const dir = mkdtempSync(join(tmpdir(), 'promtool-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const repo = fileURLToPath(new URL('../../', import.meta.url));
  const check = (...args: string[]) =>
    execFileSync('promtool', args, { cwd: repo, encoding: 'utf8', stdio: 'pipe' });

  it.runIf(available)('accept the rules file and the scrape config', () => {
    expect(check('check', 'rules', 'deploy/prometheus/rules.yml')).toContain('SUCCESS');
    // The config names the rules by their path in the container; checked here where they are.
    const config = parse(readRepoFile('deploy/prometheus/prometheus.yml')) as Record<string, unknown>;
    const local = join(dir, 'prometheus.yml');
    writeFileSync(local, stringify({ ...config, rule_files: [join(repo, 'deploy/prometheus/rules.yml')] }));
    expect(check('check', 'config', local)).toContain('SUCCESS');
  });

  it.runIf(available)("parse every dashboard query, once Grafana's variables are filled in", () => {
    const queries = monitoringExpressions().filter(({ where }) => where.startsWith('dashboard'));
    expect(queries.length).toBeGreaterThan(20);
    const file = join(dir, 'dashboard-queries.yml');
    const rules = queries.map(({ expr }, index) => ({
      record: `dashboard:query_${index}`,
      expr: withGrafanaVariablesFilled(expr),
    }));
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
    expect(check('check', 'rules', file)).toContain(`SUCCESS: ${queries.length} rules found`);
  });
});
