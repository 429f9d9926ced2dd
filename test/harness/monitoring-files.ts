import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** The expressions deploy/ hands Prometheus and Grafana, each named by where it comes from. */
export interface NamedExpression {
  where: string;
  expr: string;
}

const root = new URL('../../', import.meta.url);
export const readRepoFile = (path: string) => readFileSync(new URL(path, root), 'utf8');

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function alertRules(): AlertRule[] {
  const file = parse(readRepoFile('deploy/prometheus/rules.yml')) as {
    groups: Array<{ rules: AlertRule[] }>;
  };
  return file.groups.flatMap((group) => group.rules);
}

interface DashboardPanel {
  type: string;
  title?: string;
  datasource?: { uid?: string };
  targets?: Array<{ expr?: string; datasource?: { uid?: string } }>;
  panels?: DashboardPanel[];
}
export interface Dashboard {
  uid: string;
  panels: DashboardPanel[];
  templating: {
    list: Array<{ name: string; query: string | { query: string }; datasource?: { uid?: string } }>;
  };
}

export function dashboard(): Dashboard {
  return JSON.parse(readRepoFile('deploy/grafana/dashboards/purge-worker.json')) as Dashboard;
}

/** Every panel, rows' nested ones included. */
export function panelsOf(board: Dashboard): DashboardPanel[] {
  return board.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** Grafana's variables, as Prometheus would see a panel's query once Grafana has filled them in. */
export function withGrafanaVariablesFilled(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '5m')
    .replaceAll('$__interval', '1m')
    .replace(/\$\{?(\w+)\}?/g, '.*');
}

/** Every PromQL expression of the rules file and the dashboard (panel queries and variable queries). */
export function monitoringExpressions(): NamedExpression[] {
  const rules = alertRules().map((rule) => ({ where: `rules.yml ${rule.alert}`, expr: rule.expr }));
  const board = dashboard();
  const panels = panelsOf(board).flatMap((panel) =>
    (panel.targets ?? []).flatMap((target) =>
      target.expr === undefined ? [] : [{ where: `dashboard "${panel.title}"`, expr: target.expr }],
    ),
  );
  // label_values(metric, label): its first argument is a series selector.
  const variables = board.templating.list.map((variable) => {
    const query = typeof variable.query === 'string' ? variable.query : variable.query.query;
    const selector = /^label_values\((.*),\s*\w+\)$/.exec(query)?.[1] ?? query;
    return { where: `dashboard variable ${variable.name}`, expr: selector };
  });
  return [...rules, ...panels, ...variables];
}

/**
 * The metric names an expression reads: identifiers outside string literals (label values may hold any
 * text), in the purge_worker_ namespace.
 */
export function metricNamesIn(expr: string): string[] {
  const code = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  return [...new Set([...code.matchAll(/(?<![\w:$.])purge_worker_[A-Za-z0-9_:]*/g)].map((m) => m[0]))];
}

/** The metrics an expression hands straight to a function: `rate(purge_worker_x...` gives rate → x. */
export function functionArguments(expr: string): Array<{ fn: string; metric: string }> {
  const code = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  return [...code.matchAll(/\b(\w+)\(\s*(purge_worker_[A-Za-z0-9_:]*)/g)].map((m) => ({
    fn: m[1] ?? '',
    metric: m[2] ?? '',
  }));
}

/** The README "Metrics" section's alert list, parsed. */
export function readmeAlerts(): AlertRule[] {
  const readme = readRepoFile('README.md');
  const start = readme.indexOf('Alerts worth setting');
  if (start < 0) throw new Error('README has no "Alerts worth setting"');
  const block = /```yaml\n([\s\S]*?)```/.exec(readme.slice(start))?.[1];
  if (block === undefined) throw new Error('README\'s "Alerts worth setting" has no yaml block');
  return parse(block) as AlertRule[];
}
