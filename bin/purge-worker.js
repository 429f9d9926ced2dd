#!/usr/bin/env node
// The `purge-worker` command. In this repository Node >= 22.19 runs the TypeScript sources directly (type
// stripping); an installed copy (which ships no src/, or sits under node_modules where Node strips no
// types) runs the built dist/. Decided by what is there, not by where the file happens to live.
import { existsSync } from 'node:fs';

// `purge-worker --help | head`: a reader that stops reading is not an error worth a stack trace.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const sources = new URL('../src/cli/main.ts', import.meta.url);
const runSources = existsSync(sources) && !import.meta.url.includes('/node_modules/');
await import(runSources ? sources.href : '../dist/cli/main.js');
