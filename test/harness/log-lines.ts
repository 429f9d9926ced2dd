/** The JSON lines (pino's) in a child's output, parsed; anything else it printed is left out. */
export function jsonLines(output: string): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return []; // a line still being written
      }
    });
}

export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;
