import { PURGE_STATES } from '../../model/list-query.ts';
import type { ListPage, PurgeSummary } from '../../status/list.ts';
import { EXPLORER_PATH } from '../plugins/dashboard.ts';
import { html, queryString } from './html.ts';
import { page, stateBadge, utc } from './layout.ts';

/** What the filter form holds, as given (shown back as typed, even when refused). */
export interface ListFilters {
  state?: string;
  cdn?: string;
  since?: string;
  url?: string;
}

export interface ListView {
  filters: ListFilters;
  cdns: readonly string[];
  result?: ListPage;
  /** Why the filters were refused (a 400's message). */
  error?: string;
}

/** Recent purges with the filter form, newest first, each row linking to its timeline. */
export function renderListPage({ filters, cdns, result, error }: ListView): string {
  const option = (value: string, selected: string | undefined, label = value) =>
    html`<option value="${value}"${selected === value ? html` selected` : ''}>${label}</option>`;
  const form = html`<form class="filters" method="get" action="${EXPLORER_PATH}">
<label>State<select name="state">${option('', filters.state, 'any')}${PURGE_STATES.map((state) => option(state, filters.state))}</select></label>
<label>CDN<select name="cdn">${option('', filters.cdn, 'any')}${cdns.map((cdn) => option(cdn, filters.cdn))}</select></label>
<label>Since<input name="since" value="${filters.since ?? ''}" placeholder="1h, 7d, 2026-11-20" size="14"></label>
<label>URL contains<input name="url" value="${filters.url ?? ''}" placeholder="/news/today.html" size="40"></label>
<button type="submit">Filter</button>
</form>`;
  const rows = result?.purges.map(row) ?? [];
  const older = result?.nextCursor
    ? html`<p><a rel="next" href="${EXPLORER_PATH}${queryString({ ...filters, cursor: result.nextCursor })}">Older →</a></p>`
    : '';
  const empty =
    result && rows.length === 0
      ? html`<p class="muted">No purge matches${result.nextCursor ? ' among the newest looked at; older ones may' : ''}.</p>`
      : '';
  const table =
    rows.length > 0
      ? html`<table>
<thead><tr><th>Accepted (UTC)</th><th>State</th><th>First target</th><th>CDNs</th><th>Targets</th><th>Ended with</th></tr></thead>
<tbody>${rows}</tbody>
</table>`
      : '';
  return page(
    'Purges',
    html`<h1>Purges</h1>
${form}
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
${table}${empty}${older}`,
  );
}

function row(purge: PurgeSummary) {
  const link = `${EXPLORER_PATH}/${encodeURIComponent(purge.id)}`;
  const target = purge.matches?.[0] ?? purge.label ?? purge.id;
  const counts = Object.values(purge.targets);
  const total = counts.reduce((sum, count) => sum + count.total, 0);
  const succeeded = counts.reduce((sum, count) => sum + count.succeeded, 0);
  return html`<tr>
<td><time>${utc(purge.createdAt)}</time></td>
<td>${stateBadge(purge.state)}</td>
<td class="target"><a href="${link}">${target}</a>${purge.replayOf ? html` <span class="muted">(replay)</span>` : ''}<br><span class="muted">${purge.id}</span></td>
<td>${purge.cdns.join(', ')}</td>
<td>${succeeded}/${total} ok</td>
<td>${purge.errorCodes.join(', ') || '—'}</td>
</tr>`;
}
