import {
  CloudFrontClient,
  CreateInvalidationCommand,
  type CreateInvalidationCommandOutput,
  GetInvalidationCommand,
  ListInvalidationsCommand,
} from '@aws-sdk/client-cloudfront';
import { PurgeError } from '../../errors.ts';
import type { PurgeTarget, TargetKind } from '../../model/purge.ts';
import type { HttpClient } from '../http.ts';
import type { Provider, ProviderCheck, RemoteStatus, SubmitResult } from '../provider.ts';
import { type CloudFrontCdnConfig, IN_PROGRESS_ITEMS, IN_PROGRESS_WILDCARDS } from './config.ts';
import { toPurgeError } from './errors.ts';
import {
  batchCallerReference,
  callerReference,
  freshCallerReference,
  idFromLocation,
  splitIntoBatches,
  statusOf,
  toInvalidationPaths,
} from './mapping.ts';
import { httpClientHandler, type ObservedCall, observedCalls } from './request-handler.ts';

export interface CloudFrontDeps {
  http: HttpClient;
  /** The clock of CallerReference slots; tests pin it. (SigV4 dates are the SDK's own clock.) */
  now?: () => number;
}

/**
 * CloudFront invalidations through the AWS SDK: CreateInvalidation to submit, GetInvalidation polled until
 * `Completed`. The SDK signs (SigV4) and parses; deps.http carries every byte (request-handler.ts). The SDK
 * never retries (maxAttempts 1): the pipeline does, with its own backoff, deadlines and attempt count.
 */
export function createCloudFrontProvider(config: CloudFrontCdnConfig, deps: CloudFrontDeps): Provider {
  const now = deps.now ?? Date.now;
  const kinds: ReadonlySet<TargetKind> = new Set<TargetKind>(
    config.cacheTags ? ['urls', 'dirs', 'all', 'tags'] : ['urls', 'dirs', 'all'],
  );
  const batchOptions = {
    cdnId: config.id,
    maxItemsPerCall: config.maxItemsPerCall,
    maxWildcardsPerCall: IN_PROGRESS_WILDCARDS,
    hosts: config.hosts,
    cacheTags: config.cacheTags,
  };
  const client = new CloudFrontClient({
    endpoint: config.baseUrl,
    region: config.region,
    credentials: {
      accessKeyId: config.accessKeyId,
      secretAccessKey: config.secretAccessKey,
      ...(config.sessionToken === undefined ? {} : { sessionToken: config.sessionToken }),
    },
    maxAttempts: 1,
    requestHandler: httpClientHandler(deps.http),
  });
  const DistributionId = config.distributionId;

  /** Runs one SDK call with its raw answer observed, and its failure as one of ours. */
  async function call<T>(what: string, run: (signal?: AbortSignal) => Promise<T>, signal?: AbortSignal) {
    const observed: ObservedCall = {};
    try {
      return await observedCalls.run(observed, () => run(signal));
    } catch (error) {
      throw toPurgeError(error, {
        what,
        busyRetryAfterMs: config.busyRetryAfterMs,
        throttleRetryAfterMs: config.throttleRetryAfterMs,
        observed,
      });
    }
  }

  function create(paths: string[], reference: string, signal?: AbortSignal) {
    const command = new CreateInvalidationCommand({
      DistributionId,
      InvalidationBatch: { Paths: { Quantity: paths.length, Items: paths }, CallerReference: reference },
    });
    return call(
      'CreateInvalidation',
      (abortSignal) => client.send(command, abortSignal ? { abortSignal } : {}),
      signal,
    );
  }

  return {
    cdnId: config.id,
    name: 'cloudfront',
    capabilities: {
      kinds,
      maxItemsPerCall: config.maxItemsPerCall,
      maxDirsPerCall: IN_PROGRESS_WILDCARDS,
      ...(config.cacheTags ? { maxTagsPerCall: config.maxItemsPerCall } : {}),
      inProgressLimit: {
        items: IN_PROGRESS_ITEMS,
        wildcards: IN_PROGRESS_WILDCARDS,
        // Held back by our own count, a batch looks again as soon as after CloudFront's own refusal.
        recheckMs: config.busyRetryAfterMs,
      },
    },
    // Invalidation pricing (1,000 free paths a month) is per AWS account, whatever the distribution.
    quotaAccount: config.accessKeyId,

    toBatches(target: PurgeTarget) {
      return splitIntoBatches(target, batchOptions);
    },

    async submit(batch, signal, context): Promise<SubmitResult> {
      const { paths } = toInvalidationPaths(batch);
      let answer: CreateInvalidationCommandOutput;
      if (context) {
        // One reference per batch: a resend gets this batch's invalidation back, Completed or not.
        answer = await create(paths, batchCallerReference(paths, context.submitKey), signal);
      } else {
        answer = await create(paths, callerReference(paths, now(), config.callerReferenceWindowMs), signal);
        // A new invalidation is always InProgress: Completed means CloudFront handed back an earlier one for
        // the same reference, which ran before this batch's change (mapping.ts callerReference says when).
        if (answer.Invalidation?.Status === 'Completed')
          answer = await create(paths, freshCallerReference(paths), signal);
      }
      const remoteId = answer.Invalidation?.Id ?? idFromLocation(answer.Location);
      if (remoteId === undefined) {
        // Accepted but unaddressable: a resend would only be handed the same answer back.
        throw new PurgeError(
          'CDN_BAD_RESPONSE',
          'CloudFront CreateInvalidation: accepted but no invalidation Id in the body or Location',
          { retryable: false },
        );
      }
      const requestId = answer.$metadata.requestId;
      return requestId === undefined ? { remoteId } : { remoteId, requestId };
    },

    async status(remoteId, signal): Promise<RemoteStatus> {
      if (!/^[A-Za-z0-9]{1,128}$/.test(remoteId)) {
        throw new PurgeError(
          'CDN_NOT_FOUND',
          `CloudFront: ${remoteId.slice(0, 64)} is not an invalidation id`,
        );
      }
      const command = new GetInvalidationCommand({ DistributionId, Id: remoteId });
      const answer = await call(
        `GetInvalidation ${remoteId}`,
        (abortSignal) => client.send(command, abortSignal ? { abortSignal } : {}),
        signal,
      );
      return statusOf(answer.Invalidation?.Status);
    },

    async check(signal): Promise<ProviderCheck> {
      const command = new ListInvalidationsCommand({ DistributionId, MaxItems: 1 });
      try {
        await call(
          'ListInvalidations',
          (abortSignal) => client.send(command, abortSignal ? { abortSignal } : {}),
          signal,
        );
        return { ok: true, detail: `credentials accepted for distribution ${DistributionId}` };
      } catch (error) {
        const purgeError = error as PurgeError;
        if (purgeError.code === 'CDN_AUTH' || purgeError.code === 'CDN_REJECTED')
          return { ok: false, detail: purgeError.message };
        throw error;
      }
    },

    async close() {
      client.destroy();
    },
  };
}
