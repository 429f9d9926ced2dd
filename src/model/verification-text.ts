import type { BatchVerification } from './status.ts';

/** What checking a batch's edges found, in one line: its state, its counts, and what still served stale. */
export function describeVerification(verification: BatchVerification): string {
  const { counts } = verification;
  const parts = [
    `edges ${verification.state}`,
    counts ? `${counts.fresh} fresh, ${counts.stale} stale, ${counts.unverified} unverified` : undefined,
    verification.edges ? `${verification.edges.length} edge(s)` : undefined,
    `round ${verification.rounds}`,
    verification.repurges > 0 ? `${verification.repurges} re-purge(s)` : undefined,
    verification.secondsToFresh === undefined
      ? undefined
      : `fresh ${verification.secondsToFresh.toFixed(1)} s after accepted`,
    verification.stale?.[0]
      ? `stale: ${verification.stale[0].url} at ${verification.stale[0].edge}`
      : undefined,
    verification.note,
  ];
  return parts.filter(Boolean).join('; ');
}
