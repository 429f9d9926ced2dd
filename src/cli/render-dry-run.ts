import type { CdnForecast, DryRunReport, ForecastCall, KindCounts } from '../queue/dry-run.ts';

/** Calls listed per CDN; a backlog of thousands is summed up after these. */
const LISTED_CALLS = 12;

const KIND_NAMES: Array<[keyof KindCounts, string, string]> = [
  ['urls', 'url', 'urls'],
  ['dirs', 'dir', 'dirs'],
  ['tags', 'tag', 'tags'],
  ['pattern', 'pattern', 'patterns'],
  ['all', 'all', 'all'],
];

function counts(kinds: KindCounts): string {
  const parts = KIND_NAMES.filter(([kind]) => kinds[kind] > 0).map(
    ([kind, one, many]) => `${kinds[kind]} ${kinds[kind] === 1 ? one : many}`,
  );
  return parts.length > 0 ? parts.join(', ') : 'none';
}

function quotaText(forecast: CdnForecast): string {
  const { quota } = forecast;
  if (!quota.limited) return 'no daily quota';
  const kinds = (['urls', 'dirs'] as const).flatMap((kind) => {
    const counter = quota[kind];
    return counter ? [`${kind} ${counter.charge} of ${Math.max(0, counter.left)} left`] : [];
  });
  return kinds.join('; ');
}

/** `3 urls (1 of this request)`, with runs of the same call folded: `4 × 100 urls`. */
function callsText(calls: readonly ForecastCall[]): string[] {
  const runs: Array<{ call: ForecastCall; times: number }> = [];
  for (const call of calls) {
    const last = runs.at(-1);
    if (last && JSON.stringify(last.call) === JSON.stringify(call)) last.times += 1;
    else runs.push({ call, times: 1 });
  }
  const lines = runs.slice(0, LISTED_CALLS).map(({ call, times }) => {
    const ours = call.fromThisRequest > 0 ? ` (${call.fromThisRequest} of this request)` : '';
    return `${times > 1 ? `${times} × ` : ''}${counts(call)}${ours}`;
  });
  const rest = runs.slice(LISTED_CALLS).reduce((sum, run) => sum + run.times, 0);
  if (rest > 0) lines.push(`… and ${rest} more call${rest === 1 ? '' : 's'}`);
  return lines;
}

function table(rows: string[][]): string[] {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

function headline(report: DryRunReport): string {
  switch (report.outcome) {
    case 'accepted':
      return 'dry run: would be accepted as a new purge';
    case 'duplicate':
      return `dry run: a repeat of purge ${report.duplicateOf}: answered with it, nothing new would be sent`;
    case 'refused':
      return `dry run: would be refused (${report.wouldBeRefused[0]?.code})`;
  }
}

/** A dry run for a person: the outcome, a row per CDN, the calls each would make, and every refusal. */
export function renderDryRun(report: DryRunReport): string[] {
  const entries = Object.entries(report.cdns);
  const rows = [
    ['CDN', 'TARGETS', 'ALREADY PENDING', 'PENDING NOW', 'CALLS', 'QUOTA TODAY (UTC): CHARGE OF LEFT'],
    ...entries.map(([cdnId, forecast]) => [
      cdnId,
      counts(forecast.targets),
      counts(forecast.alreadyPending),
      String(forecast.pending),
      `${forecast.calls.length}${forecast.callsComplete ? '' : '+'}`,
      quotaText(forecast),
    ]),
  ];
  const lines = [`${headline(report)}; nothing was written`, '', ...table(rows), ''];
  lines.push('calls the next flushes would make, oldest targets first:');
  for (const [cdnId, forecast] of entries) {
    const calls = callsText(forecast.calls);
    lines.push(`  ${cdnId}: ${calls.length > 0 ? calls.join('; ') : 'none'}`);
    if (!forecast.callsComplete) {
      lines.push(
        `    (only the oldest pending targets were read; more calls follow, this request's new targets last)`,
      );
    }
  }
  if (report.wouldBeRefused.length > 0) {
    lines.push('', 'would be refused:');
    for (const refusal of report.wouldBeRefused) lines.push(`  ${refusal.code}: ${refusal.message}`);
  }
  return lines;
}
