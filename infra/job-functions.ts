import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Duration, Size } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { PHASES, type Phase } from '../functions/runtime.js';
import { PROGRAMS_DIR } from './job-programs.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** A module of this package by its path from infra/: built JavaScript (dist/, an installed package) or TypeScript source (the repository). */
function sibling(rel: string): string {
  const js = path.join(here, `${rel}.js`);
  return existsSync(js) ? js : path.join(here, `${rel}.ts`);
}

export interface PhaseFunctionsOptions {
  /** Absolute path of the job module, bundled into every function. */
  readonly job: string;
  /** Stream programs' files copied into the map and reduce bundles, under `programs/` (job-programs.ts). */
  readonly programs: readonly { from: string; to: string }[];
  /** Layers of the map and reduce functions (what their programs need that the runtime lacks). */
  readonly layers: readonly lambda.ILayerVersion[];
  /** The package's root (where its package.json is): the repository, or node_modules/streaming. */
  readonly root: string;
  readonly memoryMiB: Readonly<Record<Phase, number>>;
  readonly timeout: Duration;
  /** `/tmp` of map and reduce. */
  readonly ephemeralStorage: Size;
  readonly logRetention: logs.RetentionDays;
  readonly environment: Readonly<Record<string, string>>;
  /** Reserved concurrency of the map and reduce functions. @default none */
  readonly reservedConcurrency?: number;
}

/**
 * One Lambda function per phase (DESIGN §3), each the same handler module bundled by esbuild
 * (never Docker) with the job inside, with its own log group and a role that may write only to
 * that log group; S3 access is granted separately (job-access.ts).
 */
export function phaseFunctions(scope: Construct, o: PhaseFunctionsOptions): Record<Phase, nodejs.NodejsFunction> {
  const fns = {} as Record<Phase, nodejs.NodejsFunction>;
  for (const phase of PHASES) {
    const name = phase[0]!.toUpperCase() + phase.slice(1);
    const logGroup = new logs.LogGroup(scope, `${name}Logs`, { retention: o.logRetention });
    // An explicit role: only this function's log group, no managed policy with wildcards.
    const role = new iam.Role(scope, `${name}Role`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    const works = phase === 'map' || phase === 'reduce';
    fns[phase] = new nodejs.NodejsFunction(scope, name, {
      entry: sibling('../functions/handlers/index'),
      handler: phase,
      projectRoot: o.root,
      // NodejsFunction wants a lock file under projectRoot, but reads it only to install
      // `nodeModules` (none: everything is bundled) and to pick the package manager that runs
      // esbuild (npm). An installed package has no lock file (npm never packs one), so the
      // package's own package.json stands in, in the repository and installed alike.
      depsLockFilePath: path.join(o.root, 'package.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: o.memoryMiB[phase],
      timeout: o.timeout,
      ...(works ? { ephemeralStorageSize: o.ephemeralStorage } : {}),
      ...(works && o.reservedConcurrency !== undefined ? { reservedConcurrentExecutions: o.reservedConcurrency } : {}),
      // Traced like the state machine, so a trace follows a task from the Map into the function.
      tracing: lambda.Tracing.ACTIVE,
      ...(works && o.layers.length > 0 ? { layers: [...o.layers] } : {}),
      role,
      logGroup,
      environment: { ...o.environment },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node20',
        minify: true,
        // Error classes keep their names: `name` is what Retry/Catch match, _FAILED and the CLI show.
        keepNames: true,
        sourceMap: true,
        // Bundle everything, the AWS SDK included: the version tested is the version run.
        externalModules: [],
        esbuildArgs: {
          '--alias:streaming-job': o.job,
          '--alias:streaming': sibling('../sdk/index'),
        },
        banner:
          "import { createRequire as __streamingRequire } from 'module'; const require = __streamingRequire(import.meta.url);",
        forceDockerBundling: false,
        ...(works ? { commandHooks: copyPrograms(o.programs) } : {}),
      },
    });
  }
  return fns;
}

/**
 * Bundling hooks that copy stream programs into a function's bundle, under `programs/` at their
 * place relative to the job file: the handler gives that directory to the tasks as the
 * programs' root, as the local engine gives the job file's directory.
 */
function copyPrograms(programs: readonly { from: string; to: string }[]): nodejs.ICommandHooks {
  const q = (p: string) => `'${p.replace(/'/g, "'\\''")}'`;
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (_input: string, output: string) =>
      programs.map(({ from, to }) => {
        const target = path.join(output, PROGRAMS_DIR, to);
        return `mkdir -p ${q(path.dirname(target))} && cp -R ${q(from)} ${q(target)}`;
      }),
  };
}
