import { describe, expect, it } from 'vitest';
import { edgesOfService, MAX_LISTED_EDGES } from '../../src/providers/vims/edges.ts';
import { sampleUrls } from '../../src/verify/sample.ts';

const host = (
  id: number,
  networking: Array<{ ip?: unknown; port?: unknown }>,
  name = `edge-${id}.example.net`,
) => ({
  type: { name: 'CDN_HOST' },
  vm: { id, name, networking },
});

describe("the edges a VIMS service's listing names", () => {
  it('takes every CDN_HOST address of the service, or only the vm the purges target', () => {
    const services = [
      { id: 7, sub_services: [host(1, [{ ip: '198.51.100.1' }])] },
      {
        id: 101,
        sub_services: [
          host(201, [{ ip: '203.0.113.11' }, { ip: '2001:db8::11' }]),
          host(202, [{ ip: '203.0.113.12', port: 8080 }]),
          { type: { name: 'ORIGIN' }, vm: { id: 300, networking: [{ ip: '203.0.113.99' }] } },
        ],
      },
    ];
    expect(edgesOfService(services, '101', 'all')).toEqual([
      { address: '203.0.113.11', name: 'edge-201.example.net' },
      { address: '2001:db8::11', name: 'edge-201.example.net' },
      { address: '203.0.113.12', port: 8080, name: 'edge-202.example.net' },
    ]);
    expect(edgesOfService(services, '101', '202')).toEqual([
      { address: '203.0.113.12', port: 8080, name: 'edge-202.example.net' },
    ]);
    expect(edgesOfService(services, '999', 'all')).toEqual([]);
  });

  it('leaves out what is not an IP address (never resolved), a bad port, and anything past the bound', () => {
    const listing = [
      {
        id: 101,
        sub_services: [
          host(1, [
            { ip: 'edge.attacker.example' },
            { ip: '365.124.12.xxx' },
            { ip: 42 },
            { ip: '203.0.113.5', port: 70_000 },
          ]),
          ...Array.from({ length: MAX_LISTED_EDGES + 5 }, (_, i) =>
            host(10 + i, [{ ip: `203.0.113.${i % 250}` }]),
          ),
        ],
      },
    ];
    const edges = edgesOfService(listing, '101', 'all');
    expect(edges[0]).toEqual({ address: '203.0.113.5', name: 'edge-1.example.net' });
    expect(edges).toHaveLength(MAX_LISTED_EDGES);
  });
});

describe('a verification sample', () => {
  it('holds exactly its size, each URL once, in the batch order; all of them when there are fewer', () => {
    const urls = Array.from({ length: 50 }, (_, i) => `https://www.example.com/${i}`);
    let seed = 1;
    const random = () => {
      seed = (seed * 48_271) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    for (let run = 0; run < 20; run++) {
      const sample = sampleUrls(urls, 7, random);
      expect(sample).toHaveLength(7);
      expect(new Set(sample).size).toBe(7);
      expect([...sample].sort((a, b) => urls.indexOf(a) - urls.indexOf(b))).toEqual(sample);
    }
    expect(sampleUrls(urls.slice(0, 3), 7, random)).toEqual(urls.slice(0, 3));
  });
});
