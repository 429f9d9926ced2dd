import type { DryRunRefusal, DryRunReport } from '../queue/dry-run.ts';
import { httpStatusOf } from './errors.ts';

export interface DryRunAnswer extends Omit<DryRunReport, 'wouldBeRefused'> {
  /** The status the same request sent for real now would be answered with. */
  wouldAnswer: number;
  wouldBeRefused: Array<DryRunRefusal & { status: number }>;
}

/** A dry run's report in HTTP terms: each refusal with the status it would get, and the answer overall. */
export function dryRunAnswer(report: DryRunReport): DryRunAnswer {
  const wouldBeRefused = report.wouldBeRefused.map((refusal) => ({
    ...refusal,
    status: httpStatusOf(refusal.code),
  }));
  const { dryRun, outcome, duplicateOf, cdns } = report;
  return {
    dryRun,
    outcome,
    wouldAnswer: wouldBeRefused[0]?.status ?? 202,
    ...(duplicateOf === undefined ? {} : { duplicateOf }),
    cdns,
    wouldBeRefused,
  };
}
