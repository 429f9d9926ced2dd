import { DASHBOARD_PATH, EXPLORER_PATH } from '../plugins/dashboard.ts';
import { type Html, html } from './html.ts';

export const STYLESHEET_PATH = `${EXPLORER_PATH}/static/explorer.css`;

/** A page of the explorer: no script at all, one stylesheet of its own (the CSP allows nothing else). */
export function page(title: string, body: Html): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · purge-worker</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
<header>
<a class="brand" href="${EXPLORER_PATH}">purge-worker · purges</a>
<nav><a href="${EXPLORER_PATH}">Purges</a> <a href="${DASHBOARD_PATH}">Queues</a></nav>
</header>
<main>
${body}
</main>
</body>
</html>
`.text;
}

/** `2026-11-20 08:30:01.123` (UTC), the one time format of the explorer. */
export function utc(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

export function stateBadge(state: string): Html {
  return html`<span class="state state-${state}">${state.replace('_', ' ')}</span>`;
}

export const STYLESHEET = `
:root { color-scheme: light dark; --muted: #6b7280; --line: #d1d5db; --ok: #15803d; --bad: #b91c1c; --warn: #b45309; --run: #1d4ed8; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; }
header { display: flex; gap: 2rem; align-items: baseline; padding: .75rem 1.5rem; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 600; text-decoration: none; color: inherit; }
nav a { margin-right: 1rem; }
main { padding: 1rem 1.5rem; max-width: 80rem; }
form.filters { display: flex; flex-wrap: wrap; gap: .75rem; align-items: end; margin-bottom: 1rem; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
input, select, button { font: inherit; padding: .25rem .5rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 500; }
td.target { word-break: break-all; }
.state { font-weight: 600; }
.state-succeeded { color: var(--ok); } .state-failed, .state-stale { color: var(--bad); } .state-timed_out { color: var(--warn); }
.state-running, .state-queued, .state-submitted, .state-submitting, .state-verifying { color: var(--run); }
.error { color: var(--bad); border: 1px solid var(--bad); padding: .5rem .75rem; }
.notice { border: 1px solid var(--line); padding: .5rem .75rem; }
.muted, time { color: var(--muted); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dl.facts dt { color: var(--muted); }
ol.timeline { list-style: none; padding-left: 0; }
ol.timeline li { padding: .25rem 0 .25rem 1rem; border-left: 2px solid var(--line); }
ol.timeline li.ended, ol.timeline li.now { font-weight: 600; }
section.cdn { margin: 1.5rem 0; }
form.replay { display: inline-block; margin-right: .5rem; }
code { word-break: break-all; }
`;
