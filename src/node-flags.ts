/**
 * The Node flags the service runs under: `npm start` passes them and the image sets them in NODE_OPTIONS
 * (a docs test holds both to this list), and the benchmarks' worker process runs with them, as deployed.
 *
 * `--max-semi-space-size=16`: Node 24 lets V8 grow its young generation to 64 MiB per semi-space under a
 * high allocation rate (a backlog drain), and never gives it back: about 100 MiB of RSS per worker process,
 * for a drain a few percent faster (measured by `npm run bench`'s backlog scenario). Capped, a drain of
 * 100,000 URLs grows RSS by about 20 MiB instead. A deployment that prefers the throughput overrides it:
 * a later flag wins, so `NODE_OPTIONS=--max-semi-space-size=64` in the image.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16'];
