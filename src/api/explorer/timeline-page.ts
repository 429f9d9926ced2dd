import type { PurgeTarget } from '../../model/purge.ts';
import type { PurgeBatchStatus, PurgeStatus } from '../../model/status.ts';
import { describeVerification } from '../../model/verification-text.ts';
import { DASHBOARD_PATH, EXPLORER_PATH } from '../plugins/dashboard.ts';
import { type Html, html } from './html.ts';
import { page, stateBadge, utc } from './layout.ts';
import type { CdnTimeline, TimelineEvent } from './timeline.ts';

/** How many of a CDN's targets the page lists; the plan holds them all. */
const SHOWN_TARGETS = 20;

export interface TimelineView {
  status: PurgeStatus;
  timelines: CdnTimeline[];
  targets: Readonly<Record<string, PurgeTarget>>;
  /** False when the dashboard is read-only: no replay form. */
  canReplay: boolean;
  /** Set after a replay from this page brought the person here. */
  replayed?: 'new' | 'duplicate';
}

/** One purge: what it asked for, and per CDN what happened to it, in order. */
export function renderTimelinePage(view: TimelineView): string {
  const { status } = view;
  const replayOf = status.replayOf
    ? html`<dt>Replay of</dt><dd><a href="${EXPLORER_PATH}/${encodeURIComponent(status.replayOf)}">${status.replayOf}</a></dd>`
    : '';
  const notice =
    view.replayed === 'new'
      ? html`<p class="notice" role="status">Replay accepted: this new purge sends ${status.replayOf ?? 'it'} again.</p>`
      : view.replayed === 'duplicate'
        ? html`<p class="notice" role="status">Already replayed: this is the replay made earlier.</p>`
        : '';
  return page(
    `Purge ${status.id}`,
    html`<h1>Purge <code>${status.id}</code> ${stateBadge(status.state)}</h1>
${notice}
<dl class="facts">
<dt>Accepted</dt><dd><time>${utc(status.createdAt)}</time> UTC</dd>
${status.finishedAt === undefined ? '' : html`<dt>Finished</dt><dd><time>${utc(status.finishedAt)}</time> UTC (${seconds(status.finishedAt - status.createdAt)})</dd>`}
<dt>Asked for</dt><dd>${request(status)}</dd>
${replayOf}
${status.verified === undefined ? '' : html`<dt>Verified at the edges</dt><dd>${status.verified ? 'yes' : 'no'}</dd>`}
</dl>
${replayForms(view)}
${view.timelines.map((timeline) =>
  cdnSection(
    timeline,
    view.targets[timeline.cdnId],
    status.createdAt,
    status.batches.filter((batch) => batch.cdnId === timeline.cdnId),
  ),
)}`,
  );
}

function request({ request }: PurgeStatus): string {
  const parts = [
    request.urls ? `${request.urls} URL${request.urls === 1 ? '' : 's'}` : '',
    request.dirs ? `${request.dirs} dir${request.dirs === 1 ? '' : 's'}` : '',
    request.pattern === undefined ? '' : `pattern ${request.pattern}`,
    request.all ? 'all' : '',
  ];
  return parts.filter(Boolean).join(', ');
}

function replayForms(view: TimelineView): Html | string {
  if (!view.canReplay)
    return html`<p class="muted">Replay is off here: the dashboard is read-only (dashboard.readOnly).</p>`;
  const action = `${EXPLORER_PATH}/${encodeURIComponent(view.status.id)}/replay`;
  return html`<div class="replays">
<form class="replay" method="post" action="${action}"><button type="submit">Replay what failed</button></form>
<form class="replay" method="post" action="${action}"><input type="hidden" name="all" value="1"><button type="submit">Replay all of it</button></form>
</div>`;
}

function cdnSection(
  timeline: CdnTimeline,
  target: PurgeTarget | undefined,
  acceptedAt: number,
  batches: readonly PurgeBatchStatus[],
): Html {
  const verified = batches.filter((batch) => batch.verification);
  const { counts } = timeline;
  const values = target
    ? [
        ...target.urls,
        ...target.dirs,
        ...(target.pattern === undefined ? [] : [`pattern ${target.pattern}`]),
        ...(target.all ? ['all'] : []),
      ]
    : [];
  const more = values.length - SHOWN_TARGETS;
  return html`<section class="cdn" data-cdn="${timeline.cdnId}">
<h2>${timeline.cdnId}</h2>
<p>${counts.succeeded} succeeded, ${counts.failed} failed, ${counts.timedOut} timed out, ${counts.pending} pending, of ${counts.total}</p>
<details><summary>Targets</summary><ul>${values.slice(0, SHOWN_TARGETS).map((value) => html`<li><code>${value}</code></li>`)}${more > 0 ? html`<li class="muted">… and ${more} more</li>` : ''}</ul></details>
<ol class="timeline">${timeline.events.map((event) => eventItem(event, acceptedAt))}</ol>
${verified.map((batch) => html`<p class="verification">${batch.batchId}: ${describeVerification(batch.verification as NonNullable<PurgeBatchStatus['verification']>)}</p>`)}
</section>`;
}

function eventItem(event: TimelineEvent, acceptedAt: number): Html {
  const when =
    event.at === undefined
      ? ''
      : html`<time>${utc(event.at)}</time> <span class="muted">+${seconds(event.at - acceptedAt)}</span> `;
  const job =
    event.batch && (event.kind === 'taken' || event.kind === 'ended' || event.kind === 'now')
      ? jobLink(event.batch)
      : '';
  return html`<li class="${event.kind}">${when}${event.text}${job}</li>`;
}

/** The batch's job on the queue dashboard: a batch `<cdn>-<n>` is job `<n>` of queue `cdn-<cdn>`. */
function jobLink({ batchId, cdnId }: { batchId: string; cdnId: string }): Html {
  const jobId = batchId.startsWith(`${cdnId}-`) ? batchId.slice(cdnId.length + 1) : batchId;
  const href = `${DASHBOARD_PATH}/queue/${encodeURIComponent(`cdn-${cdnId}`)}/${encodeURIComponent(jobId)}`;
  return html` <a class="muted" href="${href}">job</a>`;
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.max(0, Math.round(ms))} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}
