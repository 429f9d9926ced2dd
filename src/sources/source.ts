import type { IncomingHttpHeaders } from 'node:http';
import type { VerifyResult } from '../callbacks/signature.ts';

/** A webhook request as it arrived: what a signature may cover. */
export interface ReceivedRequest {
  method: string;
  /** Path and query as sent (Contentful signs them). */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** What a verified delivery says, read where its CMS puts it. */
export interface SourceEvent {
  /** The CMS's id of the event, the same on every redelivery; none, and the delivery is not deduplicated. */
  id: string | undefined;
  /** The event's name (`publish`, `update`, `published`, ...), matched against the source's `events`. */
  name: string | undefined;
  /** Picks the templates. */
  contentType: string | undefined;
  /** What template fields are read from. */
  document: unknown;
}

/** One CMS's way of signing and of shaping its events. */
export interface SourceScheme {
  verify(request: ReceivedRequest, nowMs: number): VerifyResult;
  read(headers: IncomingHttpHeaders, body: unknown): SourceEvent;
  /** The header its signature comes in (lower-case): what the OpenAPI document names as its security scheme. */
  signatureHeader: string;
  /** Event names that purge when the source names none; undefined: every event. */
  defaultEvents: readonly string[] | undefined;
  /**
   * How long one signature can be presented and still pass (a signed timestamp accepted ± its tolerance):
   * a delivery sent again with the same signature within it is the same delivery, whatever event id it
   * claims (ids are not always signed). Undefined for a scheme that signs no timestamp, whose identical
   * deliveries may be real re-publishes.
   */
  replayWindowSeconds: number | undefined;
}

/** A string at `key` of an object (a JSON body), or undefined. */
export function textAt(value: unknown, key: string): string | undefined {
  if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
  const found = (value as Record<string, unknown>)[key];
  return typeof found === 'string' ? found : undefined;
}
