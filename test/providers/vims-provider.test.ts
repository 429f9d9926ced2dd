import { describe, expect, it } from 'vitest';
import { vimsCdnSchema } from '../../src/config/schema.ts';
import { createVimsProvider } from '../../src/providers/vims/provider.ts';
import { startSimulator } from '../../src/simulator/server.ts';
import type { VimsOptions } from '../../src/simulator/vims.ts';
import { providerTestClient } from '../harness/provider-http.ts';
import { runProviderContract } from './contract.ts';

const TOKEN = 'sk_live_contract';
const http = providerTestClient;

async function rig(options: VimsOptions = {}, entry: Record<string, unknown> = {}) {
  const simulator = await startSimulator({ vims: { tokens: [TOKEN], taskDurationMs: 60_000, ...options } });
  const client = http();
  const config = (token: string) =>
    vimsCdnSchema.parse({ id: 'v', provider: 'vims', baseUrl: simulator.url, token, cdnId: 101, ...entry });
  return {
    simulator,
    provider: createVimsProvider(config(TOKEN), { http: client }),
    badCredentials: createVimsProvider(config('sk_live_wrong'), { http: client }),
    faults: simulator.vims.faults,
    finishTasks: () => simulator.vims.setTaskDuration(0),
    close: async () => {
      await client.close();
      await simulator.close();
    },
  };
}

runProviderContract({
  name: 'VIMS',
  start: () => rig(),
  targets: {
    urls: { urls: ['https://www.example.com/a.jpg'], dirs: [] },
    dirs: { urls: [], dirs: ['https://www.example.com/news/'] },
    pattern: { urls: [], dirs: [], pattern: '\\.jpg$' },
    all: { urls: [], dirs: [], all: true },
  },
  refused: [{ kind: 'tags', target: { urls: [], dirs: [], tags: ['article-42'] } }],
});

describe('VIMS provider specifics', () => {
  it('surfaces the 400 body as the reason', async () => {
    const r = await rig({}, { target: '999' });
    try {
      const error = await r.provider.submit({ urls: ['https://h/a'], dirs: [] }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'CDN_REJECTED', retryable: false, httpStatus: 400 });
      expect((error as Error).message).toBe('VIMS purge: HTTP 400 — failed creation : unknown target');
    } finally {
      await r.close();
    }
  });

  it('reads a proxy HTML error page as a short text reason', async () => {
    const r = await rig();
    try {
      r.faults.inject('submit', { kind: 'html', status: 502 });
      const error = await r.provider.submit({ urls: ['https://h/a'], dirs: [] }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'CDN_UNAVAILABLE', retryable: true });
      expect((error as Error).message).not.toMatch(/<html|<body/i);
    } finally {
      await r.close();
    }
  });

  it('treats a truncated 200 as a transient bad response', async () => {
    const r = await rig();
    try {
      r.faults.inject('submit', { kind: 'truncate' });
      await expect(r.provider.submit({ urls: ['https://h/a'], dirs: [] })).rejects.toMatchObject({
        retryable: true,
      });
    } finally {
      await r.close();
    }
  });

  it('times out a stalled CDN instead of hanging', async () => {
    const r = await rig();
    try {
      r.faults.inject('status', { kind: 'stall' });
      const { remoteId } = await r.provider.submit({ urls: ['https://h/a'], dirs: [] });
      await expect(r.provider.status(remoteId)).rejects.toMatchObject({
        code: 'CDN_TIMEOUT',
        retryable: true,
      });
    } finally {
      await r.close();
    }
  });

  it('falls back to /api/task/ on 404 and then goes straight there', async () => {
    const r = await rig({ taskPaths: ['task'], taskDurationMs: 0 });
    try {
      const { remoteId } = await r.provider.submit({ urls: ['https://h/a'], dirs: [] });
      expect(await r.provider.status(remoteId)).toMatchObject({ state: 'succeeded' });
      expect(await r.provider.status(remoteId)).toMatchObject({ state: 'succeeded' });
      const paths = r.simulator.vims.requests.filter((q) => q.op !== 'submit').map((q) => q.path);
      expect(paths).toEqual([`/api/tasks/${remoteId}`, `/api/task/${remoteId}`, `/api/task/${remoteId}`]);
    } finally {
      await r.close();
    }
  });

  it('check() lists the service and its hosts, and flags a target that is not one of them', async () => {
    const r = await rig();
    const wrong = await rig({}, { target: '999' });
    try {
      const ok = await r.provider.check();
      expect(ok.ok).toBe(true);
      expect(ok.detail).toMatch(/service 101 .*hosts: 201 \(/);
      expect(await wrong.provider.check()).toMatchObject({
        ok: false,
        detail: expect.stringMatching(/^target 999 is not a host/),
      });
    } finally {
      await r.close();
      await wrong.close();
    }
  });
});
