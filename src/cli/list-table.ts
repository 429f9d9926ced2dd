import type { PurgeSummary } from '../status/list.ts';

const HEADER = ['ID', 'STATE', 'ACCEPTED (UTC)', 'CDNS', 'TARGETS', 'ENDED WITH', 'FIRST TARGET'];

/**
 * Purges as a table, one row each, columns padded to their widest cell. In a terminal the last column is
 * cut to the screen's width, so a row stays one line.
 */
export function renderPurgeTable(purges: readonly PurgeSummary[], width?: number): string[] {
  const rows = purges.map((purge) => [
    purge.id,
    purge.state,
    new Date(purge.createdAt).toISOString().replace('T', ' ').slice(0, 19),
    purge.cdns.join(','),
    targetsCell(purge),
    purge.errorCodes.join(',') || '-',
    `${purge.replayOf ? `(replay of ${purge.replayOf}) ` : ''}${purge.matches?.[0] ?? purge.label ?? ''}`,
  ]);
  const widths = HEADER.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) => {
    const text = cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
    return width !== undefined && text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
  };
  return [line(HEADER), ...rows.map(line)];
}

/** `3/4` ended well of all targets, and how the others stand. */
function targetsCell(purge: PurgeSummary): string {
  let total = 0;
  let succeeded = 0;
  let failed = 0;
  let timedOut = 0;
  for (const counts of Object.values(purge.targets)) {
    total += counts.total;
    succeeded += counts.succeeded;
    failed += counts.failed;
    timedOut += counts.timedOut;
  }
  const bad = [failed ? `${failed} failed` : '', timedOut ? `${timedOut} timed out` : '']
    .filter(Boolean)
    .join(', ');
  return `${succeeded}/${total} ok${bad ? ` (${bad})` : ''}`;
}
