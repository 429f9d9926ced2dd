import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.ts';
import { placeholderNames, STARTER_CDNS, starterConfig } from '../../src/config/starter.ts';
import { purgeRequestSchema } from '../../src/model/purge.ts';
import { planPurge } from '../../src/pipeline/plan.ts';
import { createHttpClient } from '../../src/providers/http.ts';
import { createProvider } from '../../src/providers/registry.ts';

describe('the starter config `init` writes', () => {
  it('plans a purge of every host its routes name on every CDN it configures, none refusing', async () => {
    const text = starterConfig(STARTER_CDNS);
    const env = Object.fromEntries(
      placeholderNames(text).map((name) => [name, `Stand0in0${name.replace(/_/g, '')}`]),
    );
    const config = parseConfig(parse(text), env, 'starter');
    const http = createHttpClient(config.policy.http);
    try {
      // Nothing is sent: providers are built only to plan with.
      const providers = new Map(config.cdns.map((cdn) => [cdn.id, createProvider(cdn, { http })]));
      const urls = ['https://www.example.com/news/a.html', 'https://img.static.example.com/b.png'];
      const plan = planPurge('p1', purgeRequestSchema.parse({ urls }), { routes: config.routes, providers });
      expect(plan.cdns).toHaveLength(STARTER_CDNS.length);
      for (const cdnId of plan.cdns) expect(plan.targets.get(cdnId)?.urls).toHaveLength(urls.length);
    } finally {
      await http.close();
    }
  });
});
