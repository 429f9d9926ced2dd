import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';

/** Hosts the rig's routes send to one CDN, the other, or both (see chaos/config.ts). */
export const HOSTS = {
  vims: 'vims.chaos.example.com',
  quantil: 'quantil.chaos.example.com',
  both: 'both.chaos.example.com',
} as const;

export type Route = keyof typeof HOSTS;

/** One purge the rig asks for: what it sends, and where each target must end up. */
export interface PlannedPurge {
  key: string;
  route: Route;
  urls: string[];
  dirs: string[];
}

/** What the sender got for a purge: the id the API gave it (every answer for its key must agree). */
export interface SentPurge extends PlannedPurge {
  id?: string;
  /** Requests made for this key until one was answered 2xx. */
  attempts: number;
  /** Answers that dropped on purpose (the rig walked away before reading them). */
  abandoned: number;
  /** A second, different id for the same key, or a 4xx: each is a defect. */
  problems: string[];
}

/**
 * The run's purges: every URL and dir is its own (the run id and the purge's index in the path), so any
 * second submit of one to a CDN is a repeat, never another purge's request. Mostly one to three URLs, one in
 * eight a directory; a third each to VIMS, QUANTIL, and both.
 */
export function planPurges(runId: string, count: number, random: () => number): PlannedPurge[] {
  const routes: Route[] = ['vims', 'quantil', 'both'];
  return Array.from({ length: count }, (_, index) => {
    const route = routes[index % routes.length] as Route;
    const base = `https://${HOSTS[route]}/chaos/${runId}/${index}`;
    const isDir = random() < 1 / 8;
    const urlCount = isDir ? 0 : 1 + Math.floor(random() * 3);
    return {
      key: `chaos-${runId}-${index}`,
      route,
      urls: Array.from({ length: urlCount }, (_, item) => `${base}/${item}.html`),
      dirs: isDir ? [`${base}/section/`] : [],
    };
  });
}

export interface SenderOptions {
  apiUrl: string;
  token: string;
  /** Purges started per second. */
  perSecond: number;
  /** Share of requests whose answer the sender walks away from (then retries with the same key). */
  abandonRate: number;
  random: () => number;
  /** Gives up on a key after this long (a run that cannot get a purge accepted has failed anyway). */
  giveUpAfterMs: number;
}

/** Answers worth retrying with the same key: the API or Redis is down or restarting. */
function retryable(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/**
 * Sends each purge through the real HTTP API as a CMS does: an idempotency key per purge, and on a lost
 * answer (refused connection, reset, timeout, a 5xx while Redis or the API is down, or an answer the rig
 * abandons on purpose) the same request again, with backoff, until one is answered.
 */
export async function sendPurges(
  planned: readonly PlannedPurge[],
  options: SenderOptions,
): Promise<SentPurge[]> {
  const agent = new Agent({ connections: 16, keepAliveTimeout: 1_000 });
  const sent: SentPurge[] = planned.map((purge) => ({ ...purge, attempts: 0, abandoned: 0, problems: [] }));
  const startedAt = performance.now();
  try {
    await Promise.all(
      sent.map(async (purge, index) => {
        await sleep(Math.max(0, startedAt + (index * 1000) / options.perSecond - performance.now()));
        await sendOne(purge, options, agent);
      }),
    );
  } finally {
    await agent.close();
  }
  return sent;
}

async function sendOne(purge: SentPurge, options: SenderOptions, agent: Agent): Promise<void> {
  const body = JSON.stringify({
    ...(purge.urls.length > 0 ? { urls: purge.urls } : {}),
    ...(purge.dirs.length > 0 ? { dirs: purge.dirs } : {}),
  });
  const giveUpAt = Date.now() + options.giveUpAfterMs;
  for (let attempt = 1; Date.now() < giveUpAt; attempt++) {
    purge.attempts = attempt;
    const abandon = options.random() < options.abandonRate;
    const controller = new AbortController();
    try {
      const pending = request(`${options.apiUrl}/v1/purges`, {
        method: 'POST',
        dispatcher: agent,
        headers: {
          authorization: `Bearer ${options.token}`,
          'content-type': 'application/json',
          'idempotency-key': purge.key,
        },
        body,
        signal: controller.signal,
        headersTimeout: 5_000,
        bodyTimeout: 5_000,
      });
      if (abandon) {
        // The answer is lost on the way back: the request went out, the rig never reads what came of it.
        setTimeout(() => controller.abort(), Math.floor(options.random() * 20)).unref();
      }
      const response = await pending;
      const text = await response.body.text();
      if (response.statusCode === 202 || response.statusCode === 200) {
        const id = (JSON.parse(text) as { id?: unknown }).id;
        if (typeof id !== 'string') purge.problems.push(`a ${response.statusCode} without an id: ${text}`);
        else if (purge.id !== undefined && purge.id !== id) {
          purge.problems.push(`key ${purge.key} answered id ${id} after ${purge.id}`);
        } else purge.id = id;
        return;
      }
      if (!retryable(response.statusCode)) {
        purge.problems.push(`HTTP ${response.statusCode}: ${text.slice(0, 200)}`);
        return;
      }
    } catch {
      if (abandon) purge.abandoned += 1;
      // Refused, reset, timed out or abandoned: the answer is lost, so the same request goes again.
    }
    await sleep(Math.min(2_000, 100 * attempt));
  }
  purge.problems.push(`no answer within ${options.giveUpAfterMs} ms after ${purge.attempts} attempts`);
}
