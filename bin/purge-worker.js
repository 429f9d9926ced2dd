#!/usr/bin/env node
// The `purge-worker` command. Node >= 22.19 runs the TypeScript sources directly (type stripping).
import '../src/cli/main.ts';
