#!/usr/bin/env node
// The `purge-worker` command. In this repository Node >= 22.19 runs the TypeScript sources directly (type
// stripping); an installed copy (under node_modules, where Node strips no types) runs the built dist/.
const installed = import.meta.url.includes('/node_modules/');
await import(installed ? '../dist/cli/main.js' : '../src/cli/main.ts');
