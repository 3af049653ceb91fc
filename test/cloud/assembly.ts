/**
 * The cloud assembly the tests run: test/cloud/app.ts synthesized WITH bundling (esbuild,
 * locally, never Docker) into a cdk.out directory, exactly as `cdk synth` makes it, then read
 * the way CloudFormation and Lambda would read it: each function's code is the asset directory
 * its template `Code` names (template → asset manifest → `asset.<hash>/`).
 *
 * Bundling takes ~20 s, so the assembly is made once per change of its sources and cached under
 * the OS temporary directory, keyed by a hash of every file that goes into it; jest workers
 * that need it at the same time wait for the one that makes it (a lock directory).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Template, TemplateResource } from '../../infra/template-definition.js';
import { ROOT } from '../helpers.js';
import { APP_SOURCES } from './app.js';

/** One Lambda function of the assembly, as CloudFormation would create it. */
export interface FunctionSpec {
  stack: string;
  logicalId: string;
  /** Construct path, e.g. `StreamingDemo/WordCount/Map`. */
  path: string;
  /** The bundle's directory (what `cdk deploy` zips and uploads). */
  assetDir: string;
  /** `index.map`: file `index` (.mjs/.js/.cjs) of the asset, export `map`. */
  handler: string;
  /** Environment variables as the template states them (tokens unresolved). */
  environment: Record<string, unknown>;
  memoryMiB: number;
  timeoutSeconds: number;
  ephemeralMiB: number;
  roleId: string;
}

export interface StackSpec {
  name: string;
  template: Template;
  functions: FunctionSpec[];
}

export interface CloudAssembly {
  directory: string;
  stacks: Record<string, StackSpec>;
}

const CACHE = path.join(os.tmpdir(), 'streaming-cloud-assembly');
/** Lambda's defaults when the template leaves a property out. */
const LAMBDA_DEFAULTS = { memoryMiB: 128, timeoutSeconds: 3, ephemeralMiB: 512 };

let loaded: Promise<CloudAssembly> | undefined;

/** The synthesized and bundled test app (made once per source change, then reused). */
export function cloudAssembly(): Promise<CloudAssembly> {
  loaded ??= synthesizeCached().then(readAssembly);
  return loaded;
}

function sourceHash(): string {
  const hash = createHash('sha256');
  const walk = (rel: string) => {
    const full = path.join(ROOT, rel);
    const st = fs.statSync(full);
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(full).sort()) if (name !== 'node_modules') walk(path.join(rel, name));
    } else {
      hash.update(`${rel}\0`);
      hash.update(fs.readFileSync(full));
    }
  };
  for (const s of APP_SOURCES) walk(s);
  hash.update(process.version);
  return hash.digest('hex').slice(0, 20);
}

async function synthesizeCached(): Promise<string> {
  const key = sourceHash();
  const dir = path.join(CACHE, key);
  fs.mkdirSync(CACHE, { recursive: true });
  const lock = `${dir}.lock`;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'manifest.json'))) return dir;
    try {
      fs.mkdirSync(lock);
    } catch {
      // Another worker synthesizes; a lock older than 5 minutes is a dead worker's.
      const age = Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 5 * 60_000) fs.rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    try {
      if (fs.existsSync(path.join(dir, 'manifest.json'))) return dir;
      const tmp = `${dir}.tmp-${process.pid}`;
      fs.rmSync(tmp, { recursive: true, force: true });
      const { buildTestApp } = await import('./app.js');
      buildTestApp(tmp).synth();
      fs.renameSync(tmp, dir);
      prune(key);
      return dir;
    } finally {
      fs.rmSync(lock, { recursive: true, force: true });
    }
  }
}

/** Assemblies of other sources, unused for a day, go. */
function prune(keep: string): void {
  for (const name of fs.readdirSync(CACHE)) {
    if (name.startsWith(keep)) continue;
    const full = path.join(CACHE, name);
    const st = fs.statSync(full, { throwIfNoEntry: false });
    if (st && Date.now() - st.mtimeMs > 24 * 3600_000) fs.rmSync(full, { recursive: true, force: true });
  }
}

interface Manifest {
  artifacts: Record<string, { type: string; properties?: { templateFile?: string } }>;
}
interface AssetManifest {
  files: Record<string, { source: { path: string; packaging?: string } }>;
}

function readAssembly(directory: string): CloudAssembly {
  const manifest = JSON.parse(fs.readFileSync(path.join(directory, 'manifest.json'), 'utf8')) as Manifest;
  const stacks: Record<string, StackSpec> = {};
  for (const [name, artifact] of Object.entries(manifest.artifacts)) {
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    const template = JSON.parse(
      fs.readFileSync(path.join(directory, artifact.properties!.templateFile!), 'utf8'),
    ) as Template;
    const assetsFile = path.join(directory, `${name}.assets.json`);
    const assets = fs.existsSync(assetsFile)
      ? (JSON.parse(fs.readFileSync(assetsFile, 'utf8')) as AssetManifest)
      : { files: {} };
    const functions: FunctionSpec[] = [];
    for (const [logicalId, r] of Object.entries(template.Resources)) {
      if (r.Type !== 'AWS::Lambda::Function') continue;
      const code = r.Properties?.Code as { S3Key?: string; ZipFile?: string } | undefined;
      if (!code?.S3Key) continue; // inline code: CDK's own helpers, not a bundle
      const hash = code.S3Key.replace(/\.zip$/, '');
      const asset = assets.files[hash];
      if (!asset) throw new Error(`${name}/${logicalId}: its code ${code.S3Key} is not in ${name}.assets.json`);
      functions.push(functionSpec(name, logicalId, r, path.join(directory, asset.source.path)));
    }
    stacks[name] = { name, template, functions };
  }
  return { directory, stacks };
}

function functionSpec(stack: string, logicalId: string, r: TemplateResource, assetDir: string): FunctionSpec {
  const p = r.Properties!;
  const role = p.Role as { 'Fn::GetAtt'?: [string, string] };
  if (!role['Fn::GetAtt']) throw new Error(`${stack}/${logicalId}: its role is not one of the stack's`);
  return {
    stack,
    logicalId,
    path: String(r.Metadata?.['aws:cdk:path'] ?? logicalId).replace(/\/Resource$/, ''),
    assetDir,
    handler: p.Handler as string,
    environment: ((p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<
      string,
      unknown
    >,
    memoryMiB: (p.MemorySize as number | undefined) ?? LAMBDA_DEFAULTS.memoryMiB,
    timeoutSeconds: (p.Timeout as number | undefined) ?? LAMBDA_DEFAULTS.timeoutSeconds,
    ephemeralMiB: (p.EphemeralStorage as { Size?: number } | undefined)?.Size ?? LAMBDA_DEFAULTS.ephemeralMiB,
    roleId: role['Fn::GetAtt'][0],
  };
}

/** The construct path CDK recorded for a resource (`<stack>/<construct path>`), or its logical id. */
export function constructPath(resource: TemplateResource, logicalId: string): string {
  return String(resource.Metadata?.['aws:cdk:path'] ?? logicalId).replace(/\/Resource$/, '');
}
