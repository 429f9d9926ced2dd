import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { parseListQuery } from '../../src/model/list-query.ts';
import { type PurgeStatus, publicStatus } from '../../src/model/status.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { API_TOKEN } from '../harness/api.ts';
import { answerChecker, documentOf } from '../harness/openapi.ts';
import { open, page, rig, vimsBatch } from '../harness/verify-rig.ts';

const auth = { authorization: `Bearer ${API_TOKEN}` };

/** Every key path in a JSON value (`batches.verification.repurgeIds`), array indices left out. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item) => keyPaths(item, prefix));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    return [path, ...keyPaths(inner, path)];
  });
}

/**
 * The response schemas document answers; they must not shape them. Fastify would serialize a response
 * through its schema (fast-json-stringify) and drop what the schema does not name: a purge status verified at
 * the edges, with a re-purge and a stale batch, carries most of the optional fields there are. Each answer
 * must be, byte for byte, what the handler sent (the stored status, as JSON.stringify writes it), and valid
 * against the document, closed.
 */
describe('answers keep every field their handler sent', () => {
  it('GET /v1/purges/:id and GET /v1/purges, for purges verified fresh, re-purged, and stale', async () => {
    const { sim, service, purge, warm, publish } = await rig(
      { maxRepurges: 1 },
      { api: { host: '127.0.0.1', port: 0, tokens: [API_TOKEN] } },
    );
    const log = createLogger({ level: 'silent' });
    const app = await buildApp({ runtime: service.runtime, log });
    open.push(app);
    const checker = answerChecker(await documentOf(app));

    // One edge misses the first purge: re-purged, then fresh. Another misses both: stale.
    const repaired = page('repaired');
    const stuck = page('stuck');
    await warm([repaired, stuck]);
    publish([repaired, stuck]);
    sim.edges.missNextPurge('vims-edge-2');
    const fresh = (await service.waitForFinish(await purge([repaired]))) as PurgeStatus;
    sim.edges.missNextPurge('vims-edge-3');
    sim.edges.missNextPurge('vims-edge-3');
    const stale = await service.waitForFinish(await purge([stuck]));
    const repurgeId = vimsBatch(fresh)?.verification?.repurgeIds?.[0] as string;
    expect(vimsBatch(stale)?.state).toBe('stale');

    const seen = new Set<string>();
    for (const id of [fresh.id, repurgeId, stale.id]) {
      const answer = await checker.send(app, { url: `/v1/purges/${id}`, headers: auth });
      const stored = (await service.runtime.store.get(id)) as PurgeStatus;
      expect(answer.body).toBe(JSON.stringify(publicStatus(stored)));
      for (const path of keyPaths(answer.json())) seen.add(path);
    }
    // The answers did carry the optional fields in question: the comparison above is about them.
    expect([...seen]).toEqual(
      expect.arrayContaining([
        'priority',
        'label',
        'finishedAt',
        'repurgeOf',
        'verified',
        'verification.vims-main',
        'batches.lane',
        'batches.acceptedAt',
        'batches.deadlineAt',
        'batches.error',
        'batches.errorCode',
        'batches.verification.repurgeIds',
        'batches.verification.checkedAt',
        'batches.verification.edges',
        'batches.verification.counts.stale',
        'batches.verification.stale.verdict',
        'batches.verification.secondsToFresh',
      ]),
    );

    const list = await checker.send(app, { url: '/v1/purges?limit=10', headers: auth });
    const query = parseListQuery({ limit: '10' }, { now: Date.now(), cdns: new Set(['vims-main']) });
    expect(list.body).toBe(JSON.stringify(await service.runtime.store.list(query)));
    expect(list.json().purges.map((summary: { id: string }) => summary.id)).toEqual(
      expect.arrayContaining([fresh.id, repurgeId, stale.id]),
    );
  });
});
