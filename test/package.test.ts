/**
 * The package as a user gets it: `npm pack`, the tarball installed into an empty project outside
 * this repository with `--omit=dev` (from npm's cache when it holds the packages: `npm ci` put
 * them there), then used as the README says — a TypeScript job of the user's through the
 * installed `streaming` CLI and through `runLocal`, the types under `tsc --strict`, and, once the
 * optional CDK peers are installed, a CDK app of the user's that synthesizes a StreamingJob with
 * the user's job file, bundling included. Takes a minute or two.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { countsOf, outputLines, ROOT, sortedEntries, tempDir } from './helpers.js';

const exec = promisify(execFile);
const MiB = 2 ** 20;
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};

/**
 * The environment of a shell in the user's project: without what `npm test` adds (npm's
 * lifecycle variables, this repository's node_modules/.bin on PATH), so nothing of the
 * repository's installation can stand in for the package's own.
 */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^npm_/i.test(k) || /^npm_config_(cache|registry|userconfig)$/i.test(k)) env[k] = v;
  env.PATH = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((p) => !p.startsWith(ROOT))
    .join(path.delimiter);
  delete env.INIT_CWD;
  delete env.NODE_OPTIONS;
  return env;
}

/** Runs a command in the user's project; rejects with its output when it fails. */
async function run(cwd: string, file: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  try {
    return await exec(file, args, { cwd, env: userEnv(), maxBuffer: 64 * MiB });
  } catch (e) {
    const { stdout, stderr, message } = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${message}\n--- stdout\n${stdout ?? ''}\n--- stderr\n${stderr ?? ''}`);
  }
}

const npm = (cwd: string, args: string[]) =>
  run(cwd, 'npm', [...args, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error']);

/** Bytes of every file under `dir` (what `du --apparent-size` counts). */
function treeBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) total += fs.statSync(path.join(e.parentPath, e.name)).size;
  return total;
}

const USER_JOB = `import { defineJob, forEachWord, sum } from 'streaming';

export default defineJob({
  name: 'user-count',
  input: { format: 'text' },
  map(line: string, emit) {
    forEachWord(line, (w) => emit(w, 1));
  },
  reduce(word: string, counts: Iterable<number>, emit) {
    emit(word, sum(counts));
  },
  reducers: 2,
  output: { format: 'tsv' },
});
`;
const INPUT = 'The cat sat.\nthe dog and THE cat\n';
const COUNTS = [
  ['and', 1],
  ['cat', 2],
  ['dog', 1],
  ['sat', 1],
  ['the', 3],
];

describe('the package, packed and installed into a project of its own', () => {
  let dir: string;
  let app: string;
  let files: string[];

  beforeAll(async () => {
    dir = tempDir('streaming-package-');
    // prepack builds; `npm test` has just built, so the scripts are skipped here.
    const packed = await run(ROOT, 'npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir]);
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    files = info!.files.map((f) => f.path);
    app = path.join(dir, 'app');
    fs.mkdirSync(path.join(app, 'data'), { recursive: true });
    fs.writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'user-app', private: true, type: 'module' }),
    );
    fs.writeFileSync(path.join(app, 'count.ts'), USER_JOB);
    fs.writeFileSync(path.join(app, 'data', 'a.txt'), INPUT);
    await npm(app, ['install', '--omit=dev', path.join(dir, info!.filename)]);
  }, 300_000);

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('holds the built SDK, functions, construct and jobs, and nothing of the repository', () => {
    expect(files).toContain('package.json');
    expect(files).toContain('README.md');
    for (const f of ['sdk/index', 'sdk/cli', 'infra/cdk', 'infra/streaming-job', 'functions/handlers/index'])
      expect(files).toContain(`dist/${f}.js`);
    expect(files).toContain('dist/sdk/index.d.ts');
    expect(files).toContain('dist/sdk/local/interpreter.js'); // aws-local-stepfunctions, bundled
    expect(files).toContain('jobs/wordcount.ts');
    const stray = files.filter(
      (f) =>
        !/^(package\.json|README\.md|jobs\/.+\.ts|dist\/(sdk|functions|infra)\/.+\.(js|d\.ts))$/.test(f) ||
        /^dist\/infra\/(app|demo-stack)\./.test(f),
    );
    expect(stray).toEqual([]);
  });

  it('runs a TypeScript job of the user through the installed CLI and runLocal, without the CDK', async () => {
    const bytes = treeBytes(path.join(app, 'node_modules'));
    process.stderr.write(`install for running jobs: ${(bytes / MiB).toFixed(1)} MiB\n`);
    expect(bytes).toBeLessThan(80 * MiB);
    for (const peer of Object.keys(pkg.peerDependencies))
      expect(fs.existsSync(path.join(app, 'node_modules', peer))).toBe(false);

    const cli = await run(app, 'npx', [
      '--no-install',
      'streaming',
      'run',
      'count.ts',
      '--input',
      'data',
      '--output',
      'out-cli',
      '--workers',
      '2',
    ]);
    expect(cli.stdout).toMatch(/succeeded/);
    expect(sortedEntries(countsOf(outputLines(path.join(app, 'out-cli'))))).toEqual(COUNTS);

    fs.writeFileSync(
      path.join(app, 'run.mjs'),
      `import { runLocal } from 'streaming';
const { manifest } = await runLocal('count.ts', { input: 'data', output: 'out-sdk', workers: 2 });
console.log(JSON.stringify({ parts: manifest.parts.length, records: manifest.records }));
`,
    );
    const sdk = await run(app, process.execPath, ['run.mjs']);
    expect(JSON.parse(sdk.stdout)).toEqual({ parts: 2, records: COUNTS.length });
    expect(sortedEntries(countsOf(outputLines(path.join(app, 'out-sdk'))))).toEqual(COUNTS);

    // The construct's entry names the peers it lacks.
    const cdk = run(app, process.execPath, ['-e', "await import('streaming/cdk')", '--input-type=module']);
    await expect(cdk).rejects.toThrow(/streaming\/cdk needs aws-cdk-lib, constructs, cdk-nag.*npm install/);
  }, 300_000);

  it('type-checks a program of the user under tsc --strict, without the CDK', async () => {
    fs.writeFileSync(
      path.join(app, 'typed.ts'),
      `import { defineJob, type JobManifest, type LocalRunOptions, runLocal, sum } from 'streaming';

export const job = defineJob({
  name: 'typed',
  input: { format: 'text' },
  map(line, emit) {
    emit(line.length, 1);
  },
  reduce(key: number, ones: Iterable<number>, emit) {
    emit(key, sum(ones));
  },
});
const options: LocalRunOptions = { input: 'data', output: 'out' };
export async function manifest(): Promise<JobManifest> {
  return (await runLocal('count.ts', options)).manifest;
}
// @ts-expect-error a job has a name: this fails to be an error if the types came out as any
defineJob({ map() {} });
`,
    );
    await tsc(app, 'typed.ts');
  }, 300_000);

  it('synthesizes a CDK app of the user with a StreamingJob of its job file, once the CDK peers are installed', async () => {
    const peers = Object.keys(pkg.peerDependencies).map((p) => `${p}@${pkg.devDependencies[p]}`);
    await npm(app, ['install', ...peers]);
    process.stderr.write(
      `install for deploying: ${(treeBytes(path.join(app, 'node_modules')) / MiB).toFixed(1)} MiB\n`,
    );
    fs.writeFileSync(
      path.join(app, 'cdk-app.ts'),
      `import { App, Aspects, Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { StreamingJob, type StreamingJobProps } from 'streaming/cdk';

const app = new App({ outdir: 'cdk.out' });
const stack = new Stack(app, 'UserStack');
const props: StreamingJobProps = { job: 'count.ts', reducers: 2 };
export const job: StreamingJob = new StreamingJob(stack, 'Count', props);
Aspects.of(app).add(new AwsSolutionsChecks());
app.synth();
// @ts-expect-error job is the path of a module: this fails to be an error if the types came out as any
export const wrong: StreamingJobProps = { job: 42 };
`,
    );
    fs.writeFileSync(
      path.join(app, 'synth.mjs'),
      `import { App, Aspects, Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import * as cdk from 'streaming/cdk';
// The exports map opens no dist/ file to importers; the declared names are read through the path.
import * as construct from './node_modules/streaming/dist/infra/streaming-job.js';

const app = new App({ outdir: 'cdk.out' });
new cdk.StreamingJob(new Stack(app, 'UserStack'), 'Count', { job: 'count.ts', reducers: 2 });
Aspects.of(app).add(new AwsSolutionsChecks());
const stack = app.synth().getStackByName('UserStack');
const errors = stack.messages.filter((m) => m.level === 'error').map((m) => m.entry.data);
console.log(JSON.stringify({ errors, resources: stack.template.Resources, exports: Object.keys(cdk).sort(), declared: Object.keys(construct).sort() }));
`,
    );
    // Both at once; both settle before any failure is reported, so no child outlives the test.
    const [synth, typed] = await Promise.allSettled([
      run(app, process.execPath, ['synth.mjs']),
      tsc(app, 'cdk-app.ts'),
    ]);
    if (synth.status === 'rejected') throw synth.reason;
    if (typed.status === 'rejected') throw typed.reason;
    const out = JSON.parse(synth.value.stdout.trim().split('\n').pop()!) as {
      errors: unknown[];
      resources: Record<string, { Type: string; Properties?: { Handler?: string; Code?: unknown } }>;
      exports: string[];
      declared: string[];
    };
    expect(out.errors).toEqual([]);
    // The entry exports what the construct's declarations (its types) say it does.
    expect(out.exports).toEqual(out.declared);
    const functions = Object.values(out.resources).filter(
      (r) =>
        r.Type === 'AWS::Lambda::Function' &&
        /^index\.(plan|map|shuffle|reduce|commit|abort)$/.test(r.Properties?.Handler ?? ''),
    );
    expect(functions.map((f) => f.Properties!.Handler).sort()).toEqual(
      ['abort', 'commit', 'map', 'plan', 'reduce', 'shuffle'].map((p) => `index.${p}`),
    );
    // Bundling ran, and the bundle holds the user's job.
    const assets = fs.readdirSync(path.join(app, 'cdk.out')).filter((f) => f.startsWith('asset.'));
    const bundles = assets
      .map((a) => path.join(app, 'cdk.out', a, 'index.mjs'))
      .filter((f) => fs.existsSync(f))
      .map((f) => fs.readFileSync(f, 'utf8'));
    expect(bundles.length).toBeGreaterThan(0);
    for (const b of bundles) expect(b).toContain('user-count');
  }, 300_000);
});

/** `tsc --strict --noEmit` of one file of the user's project, with this repository's TypeScript and Node types. */
async function tsc(app: string, file: string): Promise<void> {
  const config = path.join(app, `tsconfig.${path.basename(file, '.ts')}.json`);
  fs.writeFileSync(
    config,
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        // As a new project has it (`tsc --init`); the @ts-expect-error lines show the types are real.
        skipLibCheck: true,
        typeRoots: [path.join(ROOT, 'node_modules', '@types')],
        types: ['node'],
      },
      files: [file],
    }),
  );
  await run(app, process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config]);
}
