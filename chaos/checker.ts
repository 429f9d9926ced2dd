import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import type { Simulator } from '../src/simulator/server.ts';
import type { SentPurge } from './sender.ts';

const FINAL = new Set(['succeeded', 'failed', 'timed_out']);

export interface FinalStates {
  /** Purge id -> its last state; `missing` when the API had no record of it (404). */
  states: Map<string, string>;
  /** How long it took every accepted purge to end (or the bound, if some never did). */
  settledMs: number;
}

/**
 * Asks the API for every accepted purge until each has ended, or `timeoutMs` passes: what a CMS polling its
 * purges would see. A purge still `missing` or not ended then is lost or stuck.
 */
export async function waitForFinalStates(
  apiUrl: string,
  token: string,
  ids: readonly string[],
  timeoutMs: number,
): Promise<FinalStates> {
  const agent = new Agent({ connections: 8 });
  const states = new Map<string, string>(ids.map((id) => [id, 'unknown']));
  const startedAt = Date.now();
  try {
    for (;;) {
      // `missing` is settled too: an accepted purge's record never comes back once gone.
      const open = ids.filter((id) => !FINAL.has(states.get(id) ?? '') && states.get(id) !== 'missing');
      if (open.length === 0 || Date.now() - startedAt > timeoutMs) break;
      for (let from = 0; from < open.length; from += 16) {
        await Promise.all(
          open.slice(from, from + 16).map(async (id) => {
            const state = await stateOf(apiUrl, token, id, agent);
            if (state) states.set(id, state);
          }),
        );
      }
      await sleep(250); // between sweeps of the API: a poll, as a CMS would
    }
  } finally {
    await agent.close();
  }
  return { states, settledMs: Date.now() - startedAt };
}

async function stateOf(apiUrl: string, token: string, id: string, agent: Agent): Promise<string | undefined> {
  try {
    const response = await request(`${apiUrl}/v1/purges/${id}`, {
      dispatcher: agent,
      headers: { authorization: `Bearer ${token}` },
      headersTimeout: 5_000,
      bodyTimeout: 5_000,
    });
    const text = await response.body.text();
    if (response.statusCode === 404) return 'missing';
    if (response.statusCode !== 200) return undefined;
    return (JSON.parse(text) as { state?: string }).state;
  } catch {
    return undefined; // the API is restarting: asked again on the next sweep
  }
}

/** A target as each CDN is asked to purge it: a URL, or a directory (purged as a prefix). */
interface Subject {
  cdn: 'vims' | 'quantil';
  /** The URL or dir URL as sent. */
  target: string;
  isDir: boolean;
}

export interface CoverageFigures {
  /** (target, CDN) pairs the run asked for. */
  pairs: number;
  /** Pairs no CDN task ever covered: the purge never happened there. */
  missed: Array<{ cdn: string; target: string }>;
  /** CDN tasks (accepted submits) that covered a pair an earlier task had already covered. */
  repeatTasks: number;
  /** Accepted submits in all. */
  tasks: number;
}

/** The run's (target, CDN) pairs: each purge's URLs and dirs, to each CDN its route sends them to. */
function subjectsOf(sent: readonly SentPurge[]): Subject[] {
  const subjects: Subject[] = [];
  for (const purge of sent) {
    if (purge.id === undefined) continue;
    const cdns: Array<'vims' | 'quantil'> = purge.route === 'both' ? ['vims', 'quantil'] : [purge.route];
    for (const cdn of cdns) {
      for (const url of purge.urls) subjects.push({ cdn, target: url, isDir: false });
      for (const dir of purge.dirs) subjects.push({ cdn, target: dir, isDir: true });
    }
  }
  return subjects;
}

/** What VIMS matches a pattern against, for the rig's URLs: the path (the config's default scope). */
function vimsSubject(target: string): string {
  const url = new URL(target);
  return `${url.pathname}${url.search}`;
}

/**
 * Reads the simulator's own record of the purges it was asked for and accepted (VIMS tasks, each one
 * pattern; QUANTIL requests, each a list of file and dir URLs), never the service's view of them: which
 * pairs were purged at least once, and how many accepted submits covered a pair for the second time.
 */
export function checkCoverage(sent: readonly SentPurge[], simulator: Simulator): CoverageFigures {
  const subjects = subjectsOf(sent);
  const covered = new Set<Subject>();
  let repeatTasks = 0;
  // A pattern the simulator accepted is a JavaScript-compatible regex (its own validation); one that is
  // not cannot have purged anything here.
  const vimsTasks = simulator.vims.tasks
    .slice()
    .sort((a, b) => a.id - b.id)
    .map((task) => {
      try {
        return new RegExp(task.pattern);
      } catch {
        return undefined;
      }
    });
  const vimsSubjects = subjects.filter((subject) => subject.cdn === 'vims');
  const vimsKeys = vimsSubjects.map((subject) => vimsSubject(subject.target));
  for (const pattern of vimsTasks) {
    let repeat = false;
    vimsSubjects.forEach((subject, index) => {
      if (!pattern?.test(vimsKeys[index] as string)) return;
      if (covered.has(subject)) repeat = true;
      covered.add(subject);
    });
    if (repeat) repeatTasks += 1;
  }
  const quantilByTarget = new Map<string, Subject>(
    subjects.filter((subject) => subject.cdn === 'quantil').map((subject) => [subject.target, subject]),
  );
  const quantilPurges = simulator.quantil.purges.slice().sort((a, b) => a.createdAt - b.createdAt);
  for (const purge of quantilPurges) {
    let repeat = false;
    for (const item of purge.items) {
      const subject = quantilByTarget.get(item.path);
      if (!subject) continue;
      if (covered.has(subject)) repeat = true;
      covered.add(subject);
    }
    if (repeat) repeatTasks += 1;
  }
  return {
    pairs: subjects.length,
    missed: subjects
      .filter((subject) => !covered.has(subject))
      .map((subject) => ({ cdn: subject.cdn, target: subject.target })),
    repeatTasks,
    tasks: vimsTasks.length + quantilPurges.length,
  };
}
