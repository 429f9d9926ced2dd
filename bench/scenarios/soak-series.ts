/** One reading of the soak, every few seconds. */
export interface SoakSample {
  /** Seconds since the load started. */
  at: number;
  /** Purges accepted since the load started. */
  accepted: number;
  /** The worker process, as it stands (no gc() before reading). */
  rss: number;
  heapUsed: number;
  /** The worker process's event-loop delay over the sample's window (since the previous sample), ms. */
  loopDelayP99: number;
  loopDelayMax: number;
  /** An idle process's p99 over the same window (loop-delay-probe.ts): what the machine alone adds. */
  probeLoopDelayP99: number;
  /** INFO memory's used_memory and DBSIZE: the whole server's (the bench's own redis-server). */
  redisUsedMemory: number;
  redisKeys: number;
  /** Entries in the CDN queues' BullMQ event streams, which BullMQ trims near 10,000 each. */
  eventEntries: number;
  /** Targets accepted and not yet taken into a batch, over both CDNs: the backlog's first half. */
  pendingTargets: number;
  /** CDN queue jobs not done: waiting (a flush due), delayed (a window, or a batch between polls), active. */
  jobsWaiting: number;
  jobsDelayed: number;
  jobsActive: number;
  /** CDN calls the simulator has received since the load started. */
  submits: number;
  polls: number;
  /** The machine's 1-minute load average: on a shared machine, what loop delay spikes go with. */
  loadAverage: number;
}

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
const clock = (seconds: number) =>
  `${Math.floor(seconds / 60)}:${String(Math.round(seconds % 60)).padStart(2, '0')}`;

/**
 * The series (a sample every `sampleSeconds`), one line per `lineSeconds`: memory as the line's mean, event-loop delay
 * and backlog as its worst sample, so a spike between two lines is not averaged away.
 */
export function renderSeries(
  samples: readonly SoakSample[],
  sampleSeconds: number,
  lineSeconds: number,
  loadSeconds: number,
) {
  const header = [
    'until',
    'purges/s',
    'RSS MiB',
    'heap MiB',
    'loop p99 ms',
    'loop max ms',
    'probe p99 ms',
    'Redis MiB',
    'keys',
    'events',
    'pending',
    'jobs w/d/a',
    'submits/s',
    'polls/s',
    'load',
  ];
  const lines: string[][] = [];
  let previous = { at: 0, accepted: 0, submits: 0, polls: 0 };
  // By count, not by time: a sample lands a little after its due time, and must stay in its own line.
  const perLine = Math.max(1, Math.round(lineSeconds / sampleSeconds));
  const groups: SoakSample[][] = [];
  for (let index = 0; index < samples.length; index += perLine)
    groups.push(samples.slice(index, index + perLine));
  for (const group of groups) {
    const last = group.at(-1);
    if (!last) continue;
    const seconds = last.at - previous.at;
    const perSecond = (now: number, before: number) => ((now - before) / seconds).toFixed(0);
    const worst = (pick: (sample: SoakSample) => number) => Math.max(...group.map(pick));
    const jobs = group.reduce(
      (most, sample) =>
        sample.jobsWaiting + sample.jobsDelayed + sample.jobsActive >
        most.jobsWaiting + most.jobsDelayed + most.jobsActive
          ? sample
          : most,
      last,
    );
    lines.push([
      `${clock(last.at)}${last.at > loadSeconds ? ' (after load)' : ''}`,
      perSecond(last.accepted, previous.accepted),
      mib(mean(group.map((sample) => sample.rss))),
      mib(mean(group.map((sample) => sample.heapUsed))),
      worst((sample) => sample.loopDelayP99).toFixed(1),
      worst((sample) => sample.loopDelayMax).toFixed(1),
      worst((sample) => sample.probeLoopDelayP99).toFixed(1),
      mib(mean(group.map((sample) => sample.redisUsedMemory))),
      String(last.redisKeys),
      String(last.eventEntries),
      String(worst((sample) => sample.pendingTargets)),
      `${jobs.jobsWaiting}/${jobs.jobsDelayed}/${jobs.jobsActive}`,
      perSecond(last.submits, previous.submits),
      perSecond(last.polls, previous.polls),
      last.loadAverage.toFixed(1),
    ]);
    previous = last;
  }
  const all = [header, ...lines];
  const widths = header.map((_, column) => Math.max(...all.map((line) => (line[column] ?? '').length)));
  const render = (line: string[]) =>
    line
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[0] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [render(header), ...lines.map(render)].join('\n');
}
