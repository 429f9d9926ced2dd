import { quantilCdnSchema } from '../../src/config/schema.ts';
import { createQuantilProvider } from '../../src/providers/quantil/provider.ts';
import { startSimulator } from '../../src/simulator/server.ts';
import { providerTestClient } from '../harness/provider-http.ts';
import { runProviderContract } from './contract.ts';

const ACCOUNT = { user: 'contract', apiKey: 'contract-api-key' };

async function rig() {
  const simulator = await startSimulator({ quantil: { accounts: [ACCOUNT], taskDurationMs: 60_000 } });
  const client = providerTestClient();
  const config = (apiKey: string) =>
    quantilCdnSchema.parse({
      id: 'q',
      provider: 'quantil',
      baseUrl: simulator.url,
      user: ACCOUNT.user,
      apiKey,
      domains: ['www.example.com'],
    });
  return {
    provider: createQuantilProvider(config(ACCOUNT.apiKey), { http: client }),
    badCredentials: createQuantilProvider(config('not-the-api-key'), { http: client }),
    faults: simulator.quantil.faults,
    finishTasks: () => simulator.quantil.setTaskDuration(0),
    close: async () => {
      await client.close();
      await simulator.close();
    },
  };
}

runProviderContract({
  name: 'QUANTIL',
  start: rig,
  targets: {
    urls: { urls: ['https://www.example.com/a.jpg?v=1'], dirs: [] },
    dirs: { urls: [], dirs: ['https://www.example.com/news/'] },
    all: { urls: [], dirs: [], all: true },
  },
  refused: [
    { kind: 'pattern', target: { urls: [], dirs: [], pattern: '\\.jpg$' } },
    { kind: 'tags', target: { urls: [], dirs: [], tags: ['article-42'] } },
  ],
});
