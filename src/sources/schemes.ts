import type { SourceConfig } from '../config/sources.ts';
import { contentfulScheme } from './presets/contentful.ts';
import { genericScheme } from './presets/generic.ts';
import { sanityScheme } from './presets/sanity.ts';
import { storyblokScheme } from './presets/storyblok.ts';
import type { SourceScheme } from './source.ts';

/** A new preset adds its schema to config/sources.ts and one case here. */
export function schemeOf(source: SourceConfig): SourceScheme {
  switch (source.preset) {
    case 'contentful':
      return contentfulScheme(source);
    case 'sanity':
      return sanityScheme(source);
    case 'storyblok':
      return storyblokScheme(source);
    case 'generic':
      return genericScheme(source);
  }
}
