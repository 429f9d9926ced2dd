import type { LightMyRequestResponse } from 'fastify';
import { API_TOKEN, startTestApi, type TestApi } from './api.ts';

/** Never dialled: these APIs run no workers, so nothing reaches a CDN; only the plan is read back. */
const UNUSED_CDN_URL = 'http://127.0.0.1:9';

export interface SourceApi extends TestApi {
  /** Delivers a raw body to `/v1/sources/<name>`, byte for byte as given, with exactly these headers. */
  deliver(name: string, rawBody: string, headers: Record<string, string>): Promise<LightMyRequestResponse>;
  /** The targets per CDN a purge was accepted with. */
  planOf(purgeId: string): Promise<Record<string, { urls: string[]; dirs: string[] }> | undefined>;
}

/** The API with these `api.sources`, over a real Redis. */
export async function startSourceApi(
  sources: unknown[],
  api: Record<string, unknown> = {},
): Promise<SourceApi> {
  const test = await startTestApi(UNUSED_CDN_URL, {
    api: { tokens: [API_TOKEN], bodyLimitBytes: 64 * 1024, sources, ...api },
  });
  return {
    ...test,
    deliver: (name, rawBody, headers) =>
      test.app.inject({ method: 'POST', url: `/v1/sources/${name}`, headers, payload: rawBody }),
    planOf: async (purgeId) => (await test.service.runtime.store.getPlan(purgeId))?.targets,
  };
}
