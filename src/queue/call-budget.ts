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
    // A CDN's wildcard budget bounds the dirs of one call too: a call over it could never be accepted.
    maxDirs: Math.min(
      capabilities.maxDirsPerCall ?? Number.POSITIVE_INFINITY,
      capabilities.inProgressLimit?.wildcards ?? Number.POSITIVE_INFINITY,
      MAX_TAKE_ITEMS,
    ),
    maxTags: Math.min(capabilities.maxTagsPerCall ?? MAX_TAKE_ITEMS, MAX_TAKE_ITEMS),
  };
}
