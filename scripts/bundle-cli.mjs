#!/usr/bin/env node
// Part of `npm run build`: bundles the CLI (dist/sdk/cli.js, which tsc has just written) into
// itself: the same file, now one module of the CLI's ~80 with the chunks it loads on demand
// (the S3 storage) beside it as dist/sdk/cli-*.js. Loading the modules one by one took ~0.1 s
// of every command's start-up (`streaming --help`: 0.23-0.31 s -> 0.14-0.20 s), most of it in
// resolving and linking them. Packages stay external, loaded from node_modules as before; the
// engine's own files found beside its modules (the worker runtime, the interpreter bundle) are
// found from dist/sdk as well (sdk/local/folder.ts). The library (`import 'streaming'`) is not
// bundled.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const sdk = path.join(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'), 'dist', 'sdk');
// Chunks of an earlier build (their names hold their content's hash).
for (const f of fs.readdirSync(sdk)) if (/^cli-.*\.js(\.map)?$/.test(f)) fs.rmSync(path.join(sdk, f));

await build({
  entryPoints: [path.join(sdk, 'cli.js')],
  outdir: sdk,
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  chunkNames: 'cli-[name]-[hash]',
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
});
