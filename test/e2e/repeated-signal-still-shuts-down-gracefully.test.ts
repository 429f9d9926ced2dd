import { describe, expect, it } from 'vitest';
import { writeConfig } from '../cli/cli.ts';
import { spawnNode } from '../harness/child.ts';
import { testConfigInput } from '../harness/service.ts';

// A Ctrl-C under `npm start` reaches the service twice: from the terminal, and forwarded by npm.
describe('a signal repeated while shutting down', () => {
  it('is the same request: the shutdown finishes, logs stopped, and exits 0', async () => {
    const configPath = await writeConfig(testConfigInput('http://127.0.0.1:9', { log: { level: 'info' } }));
    const service = spawnNode('src/main.ts', ['--config', configPath], {});
    await service.printed('purge-worker started');

    service.process.kill('SIGINT');
    // Sent once the first is being handled: two sent together may reach the process as one.
    await service.printed('shutting down');
    service.process.kill('SIGINT');
    expect(await service.exited()).toBe(0);
    expect(service.output()).toContain('"msg":"stopped"');
  });
});
