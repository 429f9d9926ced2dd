import { describe, expect, it } from 'vitest';
import { PurgeError } from '../../src/errors.ts';
import type { PurgeTarget, TargetKind } from '../../src/model/purge.ts';
import type { Provider, RemoteStatus } from '../../src/providers/provider.ts';
import type { FaultInjector } from '../../src/simulator/faults.ts';

/** What a provider's contract run needs: the provider under test, wired to a fresh simulator. */
export interface ContractRig {
  provider: Provider;
  /** The same CDN with credentials the simulator refuses. */
  badCredentials: Provider;
  faults: FaultInjector<'submit' | 'status' | 'list'>;
  /** Makes every task the simulator holds finish now (succeeded unless it was set to fail). */
  finishTasks(): void;
  close(): Promise<void>;
}

export interface ContractSpec {
  name: string;
  start(): Promise<ContractRig>;
  /** A target for each kind the provider supports, e.g. { urls: {...}, dirs: {...} }. */
  targets: Partial<Record<TargetKind, PurgeTarget>>;
  refused: Array<{ kind: TargetKind; target: PurgeTarget }>;
  /**
   * The CDN has no task to poll (Varnish answers once done; Fastly, Cloudflare and Akamai once accepted): the
   * submit says `doneAtAcceptance`, `status` of its id is already succeeded, and there is no task to finish.
   */
  completesAtSubmit?: boolean;
}

/** One suite every provider passes against its simulator: the Provider interface's promises, in one place. */
export function runProviderContract(spec: ContractSpec): void {
  describe(`${spec.name} provider contract`, () => {
    it.each(Object.entries(spec.targets))(
      'submits %s and reports the task through to succeeded',
      async (_kind, target) => {
        const rig = await spec.start();
        try {
          const batches = rig.provider.toBatches(target as PurgeTarget);
          expect(batches.length).toBeGreaterThan(0);
          const submitted = await rig.provider.submit(batches[0] as PurgeTarget);
          const { remoteId } = submitted;
          expect(remoteId).toMatch(/\S/);
          expect(submitted.doneAtAcceptance !== undefined).toBe(spec.completesAtSubmit === true);
          const running: RemoteStatus = await rig.provider.status(remoteId);
          if (spec.completesAtSubmit) {
            expect(running).toMatchObject({ state: 'succeeded' });
            return;
          }
          expect(['pending', 'running']).toContain(running.state);
          rig.finishTasks();
          expect(await rig.provider.status(remoteId)).toMatchObject({ state: 'succeeded' });
        } finally {
          await rig.close();
        }
      },
    );

    it.each(spec.refused)('refuses $kind before anything is sent', async ({ target }) => {
      const rig = await spec.start();
      try {
        expect(() => rig.provider.toBatches(target)).toThrow(
          expect.objectContaining({ code: 'KIND_UNSUPPORTED' }),
        );
      } finally {
        await rig.close();
      }
    });

    it('reports 503 and connection resets as transient, bad credentials as permanent', async () => {
      const rig = await spec.start();
      const target = Object.values(spec.targets)[0] as PurgeTarget;
      try {
        const batch = rig.provider.toBatches(target)[0] as PurgeTarget;
        rig.faults.inject('submit', { kind: 'status', status: 503 });
        await expect(rig.provider.submit(batch)).rejects.toMatchObject({
          code: 'CDN_UNAVAILABLE',
          retryable: true,
        });
        rig.faults.inject('submit', { kind: 'reset' });
        await expect(rig.provider.submit(batch)).rejects.toMatchObject({
          code: 'CDN_NETWORK',
          retryable: true,
        });
        const refused = await rig.badCredentials.submit(batch).catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(PurgeError);
        expect(refused).toMatchObject({ code: 'CDN_AUTH', retryable: false });
      } finally {
        await rig.close();
      }
    });

    it('reports an unknown task id as permanent', async () => {
      const rig = await spec.start();
      try {
        await expect(rig.provider.status('424242')).rejects.toMatchObject({
          code: 'CDN_NOT_FOUND',
          retryable: false,
        });
      } finally {
        await rig.close();
      }
    });

    it('passes check() with good credentials and not with bad ones', async () => {
      const rig = await spec.start();
      try {
        expect(await rig.provider.check()).toMatchObject({ ok: true });
        const bad = await rig.badCredentials
          .check()
          .catch((error: unknown) => ({ ok: false, detail: String(error) }));
        expect(bad.ok).toBe(false);
      } finally {
        await rig.close();
      }
    });
  });
}
