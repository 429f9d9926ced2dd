import { describe, expect, it } from 'vitest';
import type { PurgeTarget } from '../../src/model/purge.ts';
import { replayTargets } from '../../src/pipeline/replay-targets.ts';

const u = (name: string) => `https://www.example.com/${name}`;
const urls = (...names: string[]): PurgeTarget => ({ urls: names.map(u), dirs: [] });

describe('what a replay sends', () => {
  const plan = {
    vims: { urls: [u('a'), u('b'), u('c')], dirs: [`${u('d')}/`] },
    quantil: urls('a', 'b', 'c'),
  };

  it('is the purge’s own targets of each failed call, not the other purges’ that rode with them', () => {
    const sent = [{ cdnId: 'vims', target: urls('a', 'x', 'c') }];
    expect(replayTargets(plan, sent, false)).toEqual(new Map([['vims', urls('a', 'c')]]));
  });

  it('joins several failed calls of one CDN, in the order of the purge’s plan, each target once', () => {
    const sent = [
      { cdnId: 'quantil', target: urls('c', 'y') },
      { cdnId: 'quantil', target: urls('a', 'c') },
      { cdnId: 'vims', target: { urls: [], dirs: [`${u('d')}/`] } },
    ];
    expect(replayTargets(plan, sent, false)).toEqual(
      new Map([
        ['quantil', urls('a', 'c')],
        ['vims', { urls: [], dirs: [`${u('d')}/`] }],
      ]),
    );
  });

  it('takes all of the purge’s part for a CDN from a call that sent `all`', () => {
    const sent = [{ cdnId: 'vims', target: { urls: [], dirs: [], all: true } }];
    expect(replayTargets(plan, sent, false)).toEqual(new Map([['vims', plan.vims]]));
  });

  it('keeps a pattern only when the failed call sent that pattern', () => {
    const patterned = { vims: { urls: [], dirs: [], pattern: '^/news/' } };
    const same = [{ cdnId: 'vims', target: { urls: [], dirs: [], pattern: '^/news/' } }];
    const other = [{ cdnId: 'vims', target: { urls: [], dirs: [], pattern: '^/sport/' } }];
    expect(replayTargets(patterned, same, false)).toEqual(new Map([['vims', patterned.vims]]));
    expect(replayTargets(patterned, other, false).size).toBe(0);
  });

  it('is nothing when no call failed, or the failed ones carried none of its targets', () => {
    expect(replayTargets(plan, [], false).size).toBe(0);
    expect(replayTargets(plan, [{ cdnId: 'vims', target: urls('x') }], false).size).toBe(0);
    expect(replayTargets(plan, [{ cdnId: 'gone', target: urls('a') }], false).size).toBe(0);
  });

  it('with all is the whole plan, whatever failed', () => {
    expect(replayTargets(plan, [], true)).toEqual(new Map(Object.entries(plan)));
  });
});
