import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Measurement } from './scenarios/common.ts';

export interface RowSpec {
  id: string;
  label: string;
  unit: string;
  /**
   * The row this one is divided by, round by round: both were measured seconds apart in the same round,
   * so the ratio cancels much of the machine-wide slowdown that makes absolute numbers meaningless here.
   */
  vs?: {
    id: string;
    /** What the ratio means, printed beside it. */
    meaning: string;
    /** For costs: the reference's rate over this row's, i.e. how many times longer one item takes. */
    invert?: boolean;
  };
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface RowResult {
  id: string;
  label: string;
  unit: string;
  /** Items each run was measured over (the same in every round). */
  items: number;
  samples: number[];
  value: Spread;
  /** Redis commands sent per item, median over rounds. */
  commandsPerItem: number;
  ratio?: Spread & { vs: string; meaning: string; samples: number[] };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? Number.NaN;
  if (sorted.length % 2 === 1) return upper;
  return ((sorted[middle - 1] ?? Number.NaN) + upper) / 2;
}

function spread(values: readonly number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** Per-round samples of every row, rounds in the same order for every row. */
export function summarize(
  rows: readonly RowSpec[],
  samples: ReadonlyMap<string, readonly Measurement[]>,
): RowResult[] {
  const values = (id: string) => (samples.get(id) ?? []).map((sample) => sample.value);
  return rows.map((row) => {
    const own = values(row.id);
    const result: RowResult = {
      id: row.id,
      label: row.label,
      unit: row.unit,
      items: samples.get(row.id)?.[0]?.items ?? 0,
      samples: own,
      value: spread(own),
      commandsPerItem: median((samples.get(row.id) ?? []).map((sample) => sample.commandsPerItem)),
    };
    if (row.vs) {
      const reference = values(row.vs.id);
      const invert = row.vs.invert === true;
      const ratios = own.flatMap((value, round) => {
        const base = reference[round];
        if (base === undefined) return [];
        return [invert ? base / value : value / base];
      });
      result.ratio = { ...spread(ratios), vs: row.vs.id, meaning: row.vs.meaning, samples: ratios };
    }
    return result;
  });
}

function formatRate(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function formatRatio(value: number): string {
  // Two significant digits at least: a cost ratio of 0.06 vs 0.07 is a 15% difference.
  return `${value < 1 ? value.toFixed(3) : value < 10 ? value.toFixed(2) : value.toFixed(1)}×`;
}

export function renderTable(results: readonly RowResult[]): string {
  const header = [
    'scenario',
    'per run',
    'median',
    'spread (min–max)',
    'redis cmds/item',
    'ratio',
    'ratio range',
    'ratio is',
  ];
  const lines = results.map((row) => [
    row.label,
    String(row.items),
    `${formatRate(row.value.median)} ${row.unit}`,
    `${formatRate(row.value.min)}–${formatRate(row.value.max)}`,
    row.commandsPerItem.toFixed(1),
    row.ratio ? formatRatio(row.ratio.median) : '1.00×',
    row.ratio ? `${formatRatio(row.ratio.min)}–${formatRatio(row.ratio.max)}` : '',
    row.ratio ? row.ratio.meaning : 'yardstick',
  ]);
  const all = [header, ...lines];
  const widths = header.map((_, column) => Math.max(...all.map((line) => (line[column] ?? '').length)));
  // Numbers right-aligned so magnitudes line up; text columns left-aligned.
  const numeric = new Set([1, 2, 3, 4, 5, 6]);
  const render = (line: string[]) =>
    line
      .map((cell, column) => {
        const width = widths[column] ?? 0;
        return numeric.has(column) ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [render(header), rule, ...lines.map(render)].join('\n');
}

export async function writeJson(path: URL, report: unknown): Promise<void> {
  await mkdir(dirname(path.pathname), { recursive: true });
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
}

/** A figure with a target (the coalescing scenarios, and the pipeline ÷ step-job ratio). */
export interface TargetResult {
  id: string;
  label: string;
  /** The figure as printed: `1.21×`, `262 ms`. */
  figure: string;
  value: number;
  /** As printed: `<= 1.5`, `<= 275 ms`; `—` for a figure shown beside one that has a target. */
  target: string;
  /** Undefined for a figure without a target. */
  met?: boolean;
  /** What the figure was measured over, and what it needs to be read right. */
  detail: string;
}

export function atMost(value: number, limit: number): boolean {
  return Number.isFinite(value) && value <= limit;
}

export function atLeast(value: number, limit: number): boolean {
  return Number.isFinite(value) && value >= limit;
}

function metText(met: boolean | undefined): string {
  if (met === undefined) return '';
  return met ? 'yes' : 'NO';
}

export function renderTargets(results: readonly TargetResult[]): string {
  const header = ['figure', 'value', 'target', 'met', 'measured over'];
  const lines = results.map((row) => [row.label, row.figure, row.target, metText(row.met), row.detail]);
  const all = [header, ...lines];
  const widths = header.map((_, column) => Math.max(...all.map((line) => (line[column] ?? '').length)));
  const render = (line: string[]) =>
    line
      .map((cell, column) => {
        const width = widths[column] ?? 0;
        return column === 1 ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [render(header), rule, ...lines.map(render)].join('\n');
}
