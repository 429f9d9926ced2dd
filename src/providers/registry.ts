import type { CdnConfig } from '../config/schema.ts';
import { createAkamaiProvider } from './akamai/provider.ts';
import { createCloudflareProvider } from './cloudflare/provider.ts';
import { createCloudFrontProvider } from './cloudfront/provider.ts';
import { createFastlyProvider } from './fastly/provider.ts';
import type { HttpClient } from './http.ts';
import type { Provider } from './provider.ts';
import { createQuantilProvider } from './quantil/provider.ts';
import { createVarnishProvider } from './varnish/provider.ts';
import { createVimsProvider } from './vims/provider.ts';

export interface ProviderDeps {
  http: HttpClient;
}

/** One line per provider: the config variant (by `provider`) picks the factory. */
export function createProvider(config: CdnConfig, deps: ProviderDeps): Provider {
  switch (config.provider) {
    case 'vims':
      return createVimsProvider(config, deps);
    case 'quantil':
      return createQuantilProvider(config, deps);
    case 'varnish':
      return createVarnishProvider(config, deps);
    case 'cloudfront':
      return createCloudFrontProvider(config, deps);
    case 'cloudflare':
      return createCloudflareProvider(config, deps);
    case 'akamai':
      return createAkamaiProvider(config, deps);
    case 'fastly':
      return createFastlyProvider(config, deps);
  }
}
