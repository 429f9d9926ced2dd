import { describe, expect, it } from 'vitest';
import { demoConfigPath, findConfig } from '../../src/config/load.ts';
import { PurgeError } from '../../src/errors.ts';

/** A file system holding exactly these paths. */
const holding =
  (...paths: string[]) =>
  (path: string) =>
    paths.includes(path);

describe('findConfig (npm start, purge-worker start and every CLI command)', () => {
  it('takes an explicit path, then PURGE_CONFIG, as named, whether the file exists or not', () => {
    const exists = holding('purge-worker.json');
    expect(findConfig('mine.yaml', { PURGE_CONFIG: 'env.json' }, exists)).toEqual({
      path: 'mine.yaml',
      source: '--config',
    });
    expect(findConfig(undefined, { PURGE_CONFIG: 'env.json' }, exists)).toEqual({
      path: 'env.json',
      source: 'PURGE_CONFIG',
    });
  });

  it('then the first of ./purge-worker.json, .yaml, .yml that exists', () => {
    const found = (...paths: string[]) => findConfig(undefined, {}, holding(...paths, demoConfigPath()));
    expect(found('purge-worker.yml', 'purge-worker.json')).toEqual({
      path: 'purge-worker.json',
      source: 'working directory',
    });
    expect(found('purge-worker.yml', 'purge-worker.yaml').path).toBe('purge-worker.yaml');
    expect(found('purge-worker.yml').path).toBe('purge-worker.yml');
  });

  it('then the bundled demo, and with no demo either, an error saying where it looked', () => {
    expect(findConfig(undefined, {}, holding(demoConfigPath()))).toEqual({
      path: demoConfigPath(),
      source: 'demo',
    });
    expect(demoConfigPath()).toMatch(/\/examples\/demo\.json$/);
    const none = () => findConfig(undefined, {}, holding());
    expect(none).toThrow(PurgeError);
    expect(none).toThrow(
      'no config file: looked for --config, then PURGE_CONFIG, then ./purge-worker.json, ./purge-worker.yaml, ./purge-worker.yml (purge-worker init writes one)',
    );
  });
});
