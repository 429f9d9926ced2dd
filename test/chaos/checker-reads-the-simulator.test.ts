import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { checkCoverage } from '../../chaos/checker.ts';
import { QUANTIL_ACCOUNT, VIMS_TOKEN } from '../../chaos/config.ts';
import { HOSTS, type SentPurge } from '../../chaos/sender.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function simulatorAndVimsSubmit(): Promise<{
  sim: Simulator;
  submitVims: (pattern: string) => Promise<void>;
}> {
  const sim = await startSimulator({
    vims: { tokens: [VIMS_TOKEN] },
    quantil: { accounts: [QUANTIL_ACCOUNT] },
  });
  const agent = new Agent();
  cleanups.push(async () => {
    await sim.close();
    await agent.destroy();
  });
  const submitVims = async (pattern: string) => {
    const res = await request(`${sim.url}/api/services/cdn/101/purge`, {
      method: 'POST',
      headers: { authorization: VIMS_TOKEN },
      body: JSON.stringify({ target: 'all', pattern }),
      dispatcher: agent,
    });
    await res.body.text();
    expect(res.statusCode).toBe(200);
  };
  return { sim, submitVims };
}

function accepted(id: string, urls: string[], dirs: string[] = []): SentPurge {
  return { key: id, id, route: 'vims', urls, dirs, attempts: 1, abandoned: 0, problems: [] };
}

describe('the chaos checker', () => {
  it('reports a (target, CDN) pair no accepted CDN task covered, and a task that covered one a second time', async () => {
    const { sim, submitVims } = await simulatorAndVimsSubmit();
    const a = `https://${HOSTS.vims}/chaos/t/0/0.html`;
    const b = `https://${HOSTS.vims}/chaos/t/0/1.html`;
    const dir = `https://${HOSTS.vims}/chaos/t/1/section/`;
    await submitVims('^\\/chaos\\/t\\/0\\/0\\.html$');
    await submitVims('^(?:\\/chaos\\/t\\/0\\/0\\.html$|\\/chaos\\/t\\/1\\/section\\/)');

    const figures = checkCoverage([accepted('p1', [a, b]), accepted('p2', [], [dir])], sim);

    expect(figures.pairs).toBe(3);
    expect(figures.missed).toEqual([{ cdn: 'vims', target: b }]);
    expect(figures.repeatTasks).toBe(1);
    expect(figures.tasks).toBe(2);
  });

  it('counts nothing for a purge the API never accepted', async () => {
    const { sim } = await simulatorAndVimsSubmit();
    const never: SentPurge = { ...accepted('x', [`https://${HOSTS.vims}/chaos/t/2/0.html`]) };
    delete never.id;

    expect(checkCoverage([never], sim)).toEqual({ pairs: 0, missed: [], repeatTasks: 0, tasks: 0 });
  });
});
