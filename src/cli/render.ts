import type { PurgeStatus } from '../model/status.ts';
import { describeVerification } from '../model/verification-text.ts';

const BAR_WIDTH = 24;

/** One line per CDN batch: a bar in a terminal, plain words otherwise. */
export function renderStatus(status: PurgeStatus, tty: boolean): string[] {
  const checking = Object.values(status.verification ?? {}).includes('checking');
  const verified =
    status.verified === undefined
      ? ''
      : status.verified
        ? ', verified at the edges'
        : checking
          ? ', being verified at the edges'
          : ', not verified at the edges';
  const lines = [`purge ${status.id}: ${status.state}${verified}`];
  for (const batch of status.batches) {
    const progress = Math.round(batch.progress ?? (batch.state === 'succeeded' ? 100 : 0));
    const detail = [
      batch.remoteId ? `task ${batch.remoteId}` : undefined,
      `attempts ${batch.attempts}`,
      `polls ${batch.polls}`,
      batch.error ? `error: ${batch.error}` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    if (tty) {
      const filled = Math.round((progress / 100) * BAR_WIDTH);
      const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
      lines.push(
        `  ${batch.batchId.padEnd(16)} ${bar} ${String(progress).padStart(3)}% ${batch.state.padEnd(10)} ${detail}`,
      );
    } else {
      lines.push(`  ${batch.batchId} ${batch.state} ${progress}% (${detail})`);
    }
    if (batch.verification) lines.push(`    ${describeVerification(batch.verification)}`);
  }
  return lines;
}
