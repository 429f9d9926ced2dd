import { randomBytes } from 'node:crypto';

/** A hash-tagged prefix of its own per test file, so files never share queues or records. */
export function uniquePrefix(label = 't'): string {
  return `{${label}-${randomBytes(4).toString('hex')}}`;
}
