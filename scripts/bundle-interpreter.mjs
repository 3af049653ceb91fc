#!/usr/bin/env node
// Part of `npm run build`: bundles aws-local-stepfunctions, the local engine's state machine
// interpreter, into dist/sdk/local/interpreter.js without the three packages it imports at
// load time but the engine never calls: the AWS Lambda client and Cognito credentials (every
// Task state is bound to a local handler) and asl-validator (the engine's definition is its
// own and skips validation; test/definition.test.ts validates it). Loading those took ~0.1 s
// of every local run's start-up. A call into a left-out package fails loudly.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LEFT_OUT = ['@aws-sdk/client-lambda', '@aws-sdk/credential-providers', 'asl-validator'];

const stub = `
const leftOut = (what) => () => {
  throw new Error(what + " is not in Streaming's local interpreter bundle (scripts/bundle-interpreter.mjs)");
};
export const LambdaClient = leftOut('@aws-sdk/client-lambda');
export const InvokeCommand = leftOut('@aws-sdk/client-lambda');
export const fromCognitoIdentityPool = leftOut('@aws-sdk/credential-providers');
export default leftOut('asl-validator');
`;

await build({
  entryPoints: [path.join(root, 'node_modules', 'aws-local-stepfunctions', 'build', 'main.node.esm.js')],
  outfile: path.join(root, 'dist', 'sdk', 'local', 'interpreter.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  banner: {
    js: "import { createRequire as __sfnRequire } from 'node:module'; const require = __sfnRequire(import.meta.url);",
  },
  plugins: [
    {
      name: 'leave-out',
      setup(b) {
        const filter = new RegExp(`^(${LEFT_OUT.map((p) => p.replace(/[/.-]/g, '\\$&')).join('|')})$`);
        b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'left-out' }));
        b.onLoad({ filter: /.*/, namespace: 'left-out' }, () => ({ contents: stub, loader: 'js' }));
      },
    },
  ],
});
