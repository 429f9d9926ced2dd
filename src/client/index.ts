/**
 * `purge-worker/client`: the typed HTTP client of the purge-worker API. It needs no Redis and no config:
 * only where the API listens and a bearer token.
 */
export type { ErrorCode } from '../errors.ts';
export { PurgeError } from '../errors.ts';
export { createPurgeClient } from './client.ts';
export { type ApiErrorBody, PurgeApiError, PurgeWaitTimeoutError } from './errors.ts';
export type {
  CallOptions,
  DryRunAnswer,
  ListOptions,
  ListPage,
  Priority,
  PurgeAccepted,
  PurgeClient,
  PurgeClientOptions,
  PurgeOptions,
  PurgeRequest,
  PurgeState,
  PurgeStatus,
  PurgeSummary,
  WaitOptions,
} from './types.ts';
