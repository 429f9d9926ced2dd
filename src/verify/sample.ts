/**
 * Which URLs of a batch a check asks: `size` of them, picked at random (a partial Fisher-Yates shuffle),
 * so over many batches every URL gets its turn; all of them when there are no more than `size`. The order
 * of what is kept follows the batch, so a status reads in the order the purge named them.
 */
export function sampleUrls(urls: readonly string[], size: number, random: () => number): string[] {
  if (urls.length <= size) return [...urls];
  const indexes = urls.map((_, index) => index);
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(random() * (indexes.length - i));
    [indexes[i], indexes[j]] = [indexes[j] as number, indexes[i] as number];
  }
  return indexes
    .slice(0, size)
    .sort((a, b) => a - b)
    .map((index) => urls[index] as string);
}
