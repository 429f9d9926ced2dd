import type { Provider } from '../providers/provider.ts';
import type { TakeBudget } from '../status/flush-forecast.ts';
import { MAX_TAKE_ITEMS } from './batch-processor.ts';

/** How much one take of a CDN's pending targets holds: what its flushes take, and what a dry run forecasts. */
export function callBudgetOf(provider: Provider): TakeBudget {
  const { capabilities } = provider;
  return {
    maxItems: Math.min(capabilities.maxItemsPerCall, MAX_TAKE_ITEMS),
    maxChars: capabilities.maxTargetCharsPerCall ?? 0,
    charsOf: capabilities.targetCharsOf ?? 'url',
  };
}
