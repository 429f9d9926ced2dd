import type { Config } from '../config/schema.ts';
import { PurgeError } from '../errors.ts';
import type { Priority } from '../model/purge.ts';
import type { AddressGuard } from '../net/address-guard.ts';
import type { DryRunReport } from '../queue/dry-run.ts';
import type { EnqueueOptions, EnqueueResult, IdempotencyKey, PurgeProducer } from '../queue/enqueue.ts';

export interface AcceptInput {
  urls?: string[] | undefined;
  dirs?: string[] | undefined;
  tags?: string[] | undefined;
  pattern?: string | undefined;
  all?: boolean | undefined;
  cdns?: string[] | undefined;
  priority?: Priority | undefined;
  callbackUrl?: string | undefined;
}

export interface AcceptDeps {
  config: Config;
  producer: PurgeProducer;
  callbackGuard: AddressGuard;
}

/**
 * The one path from an HTTP body to the queue, for the purge API and the CMS webhook alike: limits, then
 * the producer (which validates and canonicalises). Any refusal happens before anything is written.
 */
export async function acceptPurge(
  input: AcceptInput,
  idempotency: IdempotencyKey | undefined,
  deps: AcceptDeps,
  /** The lane of a request that names none, before the routes' defaults: its source's (the webhook's). */
  defaultPriority?: Priority,
): Promise<EnqueueResult> {
  const { target, options } = await checked(input, idempotency, deps, defaultPriority);
  return deps.producer.enqueuePurge(target, options);
}

/** The same checks as acceptPurge, then the producer's dry run instead of the acceptance: writes nothing. */
export async function dryRunPurge(
  input: AcceptInput,
  idempotency: IdempotencyKey | undefined,
  deps: AcceptDeps,
): Promise<DryRunReport> {
  const { target, options } = await checked(input, idempotency, deps);
  return deps.producer.dryRun(target, options);
}

async function checked(
  input: AcceptInput,
  idempotency: IdempotencyKey | undefined,
  { config, callbackGuard }: AcceptDeps,
  defaultPriority?: Priority,
) {
  const items = (input.urls?.length ?? 0) + (input.dirs?.length ?? 0) + (input.tags?.length ?? 0);
  if (items > config.api.maxItemsPerRequest) {
    throw new PurgeError(
      'PAYLOAD_TOO_LARGE',
      `${items} urls + dirs + tags is over the limit of ${config.api.maxItemsPerRequest} per request`,
    );
  }
  const { callbackUrl, ...target } = input;
  if (callbackUrl !== undefined) await checkCallbackUrl(callbackUrl, config, callbackGuard);
  const options: EnqueueOptions = {
    ...(idempotency === undefined ? {} : { idempotency }),
    ...(callbackUrl === undefined ? {} : { callbackUrl }),
    ...(defaultPriority === undefined ? {} : { defaultPriority }),
  };
  return { target: dropUndefined(target), options };
}

/**
 * The caller names where the workers will POST, so the host must be public (or allowed): checked here
 * on the literal or on every address the name resolves to now, and again when the worker connects (DNS
 * may answer differently by then).
 */
async function checkCallbackUrl(value: string, config: Config, guard: AddressGuard): Promise<void> {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new PurgeError('REQUEST_INVALID', 'callbackUrl must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PurgeError('REQUEST_INVALID', 'callbackUrl must be an absolute http(s) URL');
  }
  if (!config.callbacks.secret && !config.api.webhook.secret) {
    throw new PurgeError(
      'REQUEST_INVALID',
      'callbackUrl needs callbacks.secret (or api.webhook.secret) configured to sign callbacks',
    );
  }
  // WHATWG parsing has already turned 0x7f000001, 2130706433 and 0177.0.0.1 into 127.0.0.1.
  await guard.resolve(url.hostname);
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
