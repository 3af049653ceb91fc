import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, Size, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { DEFAULTS } from '../functions/config.js';
import { PHASES, type Phase } from '../functions/runtime.js';
import { registryParameter } from '../functions/spec.js';
import { buildDefinition } from './definition.js';

export interface StreamingJobMemory {
  /** @default 1769 (one full vCPU) */
  readonly map?: number;
  /** @default 1769 (one full vCPU) */
  readonly reduce?: number;
  /** Plan, shuffle plan, commit and abort. @default 512 */
  readonly control?: number;
}

export interface StreamingJobProps {
  /** Path of the job module (a file whose default export is `defineJob(...)`). */
  readonly job: string;
  /**
   * Files and directories the job's stream programs need (`mapper: 'node programs/map.mjs'`),
   * relative to the directory `cdk` runs in (where `streaming run` runs them locally). Each is
   * copied to the same relative path in the map and reduce functions' bundle, which is their
   * working directory (`/var/task`), so a command works unchanged in both places. The Node.js
   * runtime offers `/bin/sh`, `node` and the basic Amazon Linux tools (no Python). @default none
   */
  readonly programs?: string[];
  /** The name `startJob({ job })` and `streaming start` find it by (SSM `/streaming/jobs/<name>`). @default the construct's id */
  readonly jobName?: string;
  /** Where inputs, outputs and scratch live. @default a new private, encrypted, SSL-only bucket */
  readonly bucket?: s3.IBucket;
  /** Inputs the functions may read. @default 'input/' */
  readonly inputPrefix?: string;
  /** Outputs the functions may write. @default 'output/' */
  readonly outputPrefix?: string;
  /** Intermediate data. @default 'scratch/' */
  readonly scratchPrefix?: string;
  /** Scratch objects left behind (a job that was stopped) expire after this; only on a bucket this construct creates. @default Duration.days(7) */
  readonly scratchExpiration?: Duration;
  /** Memory per function in MiB. @default see StreamingJobMemory */
  readonly memorySize?: StreamingJobMemory;
  /** Longest run of one task attempt. @default Duration.minutes(15) */
  readonly timeout?: Duration;
  /** /tmp of map and reduce functions (spills, fetched ranges). @default Size.gibibytes(2) */
  readonly ephemeralStorageSize?: Size;
  /** Map input per task, unless a job's start names another. @default DEFAULTS.splitSize */
  readonly splitSize?: Size;
  /** Reduce partitions, unless the job or its start names another. @default the job's, else DEFAULTS.reducers */
  readonly reducers?: number;
  /** Concurrent child executions of each Distributed Map (1-10,000). @default DEFAULTS.maxConcurrency */
  readonly maxConcurrency?: number;
  /** Attempts of a failing task, the first included. @default DEFAULTS.taskAttempts */
  readonly taskAttempts?: number;
  /** First retry delay; doubles per attempt. @default Duration.seconds(DEFAULTS.retryIntervalSeconds) */
  readonly retryInterval?: Duration;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Run the job on every object created under `prefix` (an EventBridge rule on S3 "Object
   * Created"); the object `k` writes to `<outputPrefix><k>/`. `prefix` must lie under
   * `inputPrefix` and `outputPrefix` under the job's `outputPrefix`: objects jobs write never
   * start a job. @default no upload trigger
   */
  readonly onUpload?: StreamingJobUploadTrigger;
  /**
   * Run the job on a schedule (an EventBridge rule) over a fixed input; each run writes to
   * `<outputPrefix><scheduled time>/`, so runs never overwrite each other. @default no schedule
   */
  readonly schedule?: StreamingJobSchedule;
}

export interface StreamingJobUploadTrigger {
  /** Key prefix of the objects that start a run; under `inputPrefix`. */
  readonly prefix: string;
  /** Where each object's run writes; under the job's `outputPrefix`. */
  readonly outputPrefix: string;
}

export interface StreamingJobSchedule {
  /** `events.Schedule.cron({...})` or `events.Schedule.rate(...)`. */
  readonly schedule: events.Schedule;
  /** Key prefix of the input of every run; under `inputPrefix`. @default the job's inputPrefix */
  readonly inputPrefix?: string;
  /** Where runs write, one folder per scheduled time; under the job's `outputPrefix`. @default `<outputPrefix>scheduled/` */
  readonly outputPrefix?: string;
}

/** Every problem with the props at once, so a stack is fixed in one round. */
export function streamingJobProblems(props: StreamingJobProps): string[] {
  const problems: string[] = [];
  if (!props.job) problems.push('job: give the path of the job module');
  else if (!existsSync(path.resolve(props.job))) problems.push(`job: ${props.job} does not exist`);
  for (const p of props.programs ?? []) {
    if (path.isAbsolute(p) || p.split(/[\\/]/).includes('..'))
      problems.push(`programs: ${p} must be a path inside the project, relative to it`);
    else if (!existsSync(path.resolve(p))) problems.push(`programs: ${p} does not exist`);
  }
  const mc = props.maxConcurrency;
  if (mc !== undefined && !(Number.isInteger(mc) && mc >= 1 && mc <= 10_000))
    problems.push(`maxConcurrency must be 1-10000 (got ${mc})`);
  const r = props.reducers;
  if (r !== undefined && !(Number.isInteger(r) && r >= 0))
    problems.push(`reducers must be a whole number >= 0 (got ${r})`);
  const a = props.taskAttempts;
  if (a !== undefined && !(Number.isInteger(a) && a >= 1)) problems.push(`taskAttempts must be >= 1 (got ${a})`);
  for (const [name, p] of [
    ['inputPrefix', props.inputPrefix],
    ['outputPrefix', props.outputPrefix],
    ['scratchPrefix', props.scratchPrefix],
  ] as const)
    if (p !== undefined && (!p.endsWith('/') || p.startsWith('/')))
      problems.push(`${name} must end with "/" and not start with one (got "${p}")`);
  const input = props.inputPrefix ?? 'input/';
  const output = props.outputPrefix ?? 'output/';
  const scratch = props.scratchPrefix ?? 'scratch/';
  if (props.onUpload) {
    const { prefix, outputPrefix } = props.onUpload;
    if (!prefix.startsWith(input))
      problems.push(`onUpload.prefix must lie under inputPrefix "${input}" (got "${prefix}")`);
    if (!outputPrefix.startsWith(output))
      problems.push(`onUpload.outputPrefix must lie under outputPrefix "${output}" (got "${outputPrefix}")`);
    for (const other of [output, scratch, outputPrefix])
      if (prefix.startsWith(other) || other.startsWith(prefix))
        problems.push(`onUpload.prefix "${prefix}" overlaps "${other}", where jobs write: a job would start itself`);
  }
  if (props.schedule) {
    if (props.schedule.inputPrefix && !props.schedule.inputPrefix.startsWith(input))
      problems.push(`schedule.inputPrefix must lie under inputPrefix "${input}"`);
    if (props.schedule.outputPrefix && !props.schedule.outputPrefix.startsWith(output))
      problems.push(`schedule.outputPrefix must lie under outputPrefix "${output}"`);
  }
  const t = props.timeout?.toSeconds();
  if (t !== undefined && (t < 1 || t > 900)) problems.push(`timeout must be 1 s to 15 min (got ${t} s)`);
  return problems;
}

/** The repository root (the folder holding package.json), from this file's place in source or dist. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('StreamingJob cannot find its package root');
    dir = up;
  }
  return dir;
}

/**
 * A MapReduce job on AWS (DESIGN §3-4): one Lambda function per phase, bundled with esbuild with
 * the job inside, and a Standard state machine (Plan, Distributed Maps over the splits and the
 * reducers, Commit, Abort) whose definition is the same one the local engine runs.
 */
export class StreamingJob extends Construct {
  readonly bucket: s3.IBucket;
  readonly stateMachine: sfn.StateMachine;
  readonly functions: Readonly<Record<Phase, nodejs.NodejsFunction>>;
  readonly inputPrefix: string;
  readonly outputPrefix: string;
  readonly scratchPrefix: string;
  readonly jobName: string;

  constructor(scope: Construct, id: string, props: StreamingJobProps) {
    super(scope, id);
    const problems = streamingJobProblems(props);
    if (problems.length > 0) throw new Error(`Invalid StreamingJob "${id}": ${problems.join('; ')}.`);
    const inputPrefix = (this.inputPrefix = props.inputPrefix ?? 'input/');
    const outputPrefix = (this.outputPrefix = props.outputPrefix ?? 'output/');
    const scratchPrefix = (this.scratchPrefix = props.scratchPrefix ?? 'scratch/');
    const timeout = props.timeout ?? Duration.minutes(15);
    const retention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const bucket = (this.bucket =
      props.bucket ?? this.createBucket(scratchPrefix, props.scratchExpiration ?? Duration.days(7)));

    const root = packageRoot();
    const memory: Record<Phase, number> = {
      plan: props.memorySize?.control ?? 512,
      map: props.memorySize?.map ?? 1769,
      shuffle: props.memorySize?.control ?? 512,
      reduce: props.memorySize?.reduce ?? 1769,
      commit: props.memorySize?.control ?? 512,
      abort: props.memorySize?.control ?? 512,
    };
    const environment: Record<string, string> = {
      NODE_OPTIONS: '--enable-source-maps',
      STREAMING_SCRATCH: bucket.s3UrlForObject(scratchPrefix),
      POWERTOOLS_SERVICE_NAME: 'streaming',
    };
    if (props.splitSize) environment.STREAMING_SPLIT_SIZE = String(props.splitSize.toBytes());
    if (props.reducers !== undefined) environment.STREAMING_REDUCERS = String(props.reducers);

    const fns = {} as Record<Phase, nodejs.NodejsFunction>;
    for (const phase of PHASES) {
      const name = phase[0]!.toUpperCase() + phase.slice(1);
      const logGroup = new logs.LogGroup(this, `${name}Logs`, { retention });
      // An explicit role: only this function's log group, no managed policy with wildcards.
      const role = new iam.Role(this, `${name}Role`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [logGroup.logGroupArn],
        }),
      );
      fns[phase] = new nodejs.NodejsFunction(this, name, {
        entry: path.join(root, 'functions', 'handlers', 'index.ts'),
        handler: phase,
        projectRoot: root,
        depsLockFilePath: path.join(root, 'package-lock.json'),
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: memory[phase],
        timeout,
        ...(phase === 'map' || phase === 'reduce'
          ? { ephemeralStorageSize: props.ephemeralStorageSize ?? Size.gibibytes(2) }
          : {}),
        role,
        logGroup,
        environment,
        bundling: {
          format: nodejs.OutputFormat.ESM,
          target: 'node20',
          minify: true,
          sourceMap: true,
          // Bundle everything, the AWS SDK included: the version tested is the version run.
          externalModules: [],
          esbuildArgs: {
            '--alias:streaming-job': path.resolve(props.job),
            '--alias:streaming': path.join(root, 'sdk', 'index.ts'),
          },
          banner:
            "import { createRequire as __streamingRequire } from 'module'; const require = __streamingRequire(import.meta.url);",
          forceDockerBundling: false,
          ...(phase === 'map' || phase === 'reduce' ? { commandHooks: copyPrograms(props.programs ?? []) } : {}),
        },
      });
    }
    this.functions = fns;

    // Least privilege: each phase reads and writes only the prefixes it must.
    const objects = (prefix: string) => bucket.arnForObjects(`${prefix}*`);
    const grant = (phase: Phase, actions: string[], prefix: string) =>
      fns[phase].addToRolePolicy(new iam.PolicyStatement({ actions, resources: [objects(prefix)] }));
    const grantList = (phase: Phase, prefix: string) =>
      fns[phase].addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
        }),
      );
    const READ = ['s3:GetObject'];
    const WRITE = ['s3:PutObject', 's3:AbortMultipartUpload'];
    const DELETE = ['s3:DeleteObject'];
    grant('plan', READ, inputPrefix);
    grantList('plan', inputPrefix);
    grant('plan', [...READ, ...DELETE], outputPrefix);
    grantList('plan', outputPrefix);
    // Scratch also holds the outputs between the steps of a multi-step job, which plan lists and map reads.
    grant('plan', [...READ, ...WRITE, ...DELETE], scratchPrefix);
    grantList('plan', scratchPrefix);
    grant('map', READ, inputPrefix);
    grantList('map', inputPrefix);
    grant('map', [...READ, ...WRITE], scratchPrefix);
    grantList('map', scratchPrefix); // a pipeline step's side input: an earlier step's output, listed for its parts
    grant('map', WRITE, outputPrefix); // a map-only job's (or last step's) parts, as reduce writes its own
    grant('shuffle', [...READ, ...WRITE], scratchPrefix);
    grantList('shuffle', scratchPrefix);
    grant('reduce', [...READ, ...WRITE], scratchPrefix); // fetched ranges in, its published result out
    grantList('reduce', scratchPrefix);
    grant('reduce', WRITE, outputPrefix);
    grant('commit', [...READ, ...WRITE, ...DELETE], scratchPrefix);
    grantList('commit', scratchPrefix);
    // Reads back its own manifest: a retried Commit whose first attempt completed redoes nothing.
    grant('commit', [...READ, ...WRITE], outputPrefix);
    grantList('commit', outputPrefix);
    grant('abort', [...WRITE, ...DELETE], outputPrefix);
    grantList('abort', outputPrefix);
    grant('abort', DELETE, scratchPrefix);
    grantList('abort', scratchPrefix);

    const stack = Stack.of(this);
    const definition = buildDefinition({
      functions: Object.fromEntries(PHASES.map((p) => [p, fns[p].functionArn])) as Record<Phase, string>,
      maxConcurrency: props.maxConcurrency ?? DEFAULTS.maxConcurrency,
      taskAttempts: props.taskAttempts ?? DEFAULTS.taskAttempts,
      retryIntervalSeconds: (props.retryInterval ?? Duration.seconds(DEFAULTS.retryIntervalSeconds)).toSeconds(),
      taskTimeoutSeconds: timeout.toSeconds(),
    });
    const smRole = new iam.Role(this, 'StateMachineRole', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromString(stack.toJsonString(definition)),
      stateMachineType: sfn.StateMachineType.STANDARD,
      role: smRole,
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'StateMachineLogs', { retention }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    for (const phase of PHASES) fns[phase].grantInvoke(smRole);
    // The Distributed Maps read their item lists from scratch and run child executions of this state machine.
    const smPolicy = new iam.Policy(this, 'StateMachineMapPolicy', {
      roles: [smRole],
      statements: [
        new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [objects(scratchPrefix)] }),
        new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [this.stateMachine.stateMachineArn] }),
        new iam.PolicyStatement({
          actions: ['states:DescribeExecution', 'states:StopExecution'],
          resources: [
            stack.formatArn({
              service: 'states',
              resource: 'execution',
              resourceName: `${this.stateMachine.stateMachineName}/*`,
              // arn:…:execution:<state machine name>/<map run label>:<child name> (colon before the name).
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ],
        }),
      ],
    });
    this.suppressNag(smPolicy, smRole);
    this.addTriggers(props, bucket);
    this.jobName = props.jobName ?? id;
    // What clients need to start and follow runs, found by name.
    new ssm.StringParameter(this, 'Registry', {
      parameterName: registryParameter(this.jobName),
      description: `Streaming job ${this.jobName}: where its state machine and data are`,
      stringValue: stack.toJsonString({
        name: this.jobName,
        stateMachineArn: this.stateMachine.stateMachineArn,
        bucket: bucket.bucketName,
        inputPrefix,
        outputPrefix,
        scratch: bucket.s3UrlForObject(scratchPrefix),
      }),
    });
    // CDK's own provider that turns on the bucket's EventBridge notifications (one per stack).
    const notifications = stack.node.children.find((c) => c.node.id.startsWith('BucketNotificationsHandler'));
    if (notifications)
      NagSuppressions.addResourceSuppressions(
        notifications,
        [
          {
            id: 'AwsSolutions-IAM4',
            reason: "CDK's BucketNotificationsHandler custom resource; its role and policy are CDK's, not the job's.",
          },
          {
            id: 'AwsSolutions-IAM5',
            reason: `CDK's BucketNotificationsHandler needs s3:PutBucketNotification, which it scopes to "*".`,
          },
          { id: 'AwsSolutions-L1', reason: "CDK's BucketNotificationsHandler picks its own runtime." },
        ],
        true,
      );
  }

  /** EventBridge rules that start the state machine; Plan turns their events into job specs (functions/events.ts). */
  private addTriggers(props: StreamingJobProps, bucket: s3.IBucket): void {
    const plan = this.functions.plan;
    const at = (prefix: string) => bucket.s3UrlForObject(prefix);
    plan.addEnvironment('STREAMING_PROTECTED', [at(this.outputPrefix), at(this.scratchPrefix)].join(','));
    if (props.onUpload) {
      plan.addEnvironment('STREAMING_UPLOAD_OUTPUT', at(props.onUpload.outputPrefix));
      new events.Rule(this, 'OnUpload', {
        description: `Starts ${this.node.path} for each object created under ${props.onUpload.prefix}`,
        eventPattern: {
          source: ['aws.s3'],
          detailType: ['Object Created'],
          detail: { bucket: { name: [bucket.bucketName] }, object: { key: [{ prefix: props.onUpload.prefix }] } },
        },
        targets: [new targets.SfnStateMachine(this.stateMachine)],
      });
    }
    if (props.schedule) {
      plan.addEnvironment('STREAMING_SCHEDULE_INPUT', at(props.schedule.inputPrefix ?? this.inputPrefix));
      plan.addEnvironment(
        'STREAMING_SCHEDULE_OUTPUT',
        at(props.schedule.outputPrefix ?? `${this.outputPrefix}scheduled/`),
      );
      new events.Rule(this, 'Schedule', {
        description: `Runs ${this.node.path} on a schedule`,
        schedule: props.schedule.schedule,
        targets: [new targets.SfnStateMachine(this.stateMachine)],
      });
    }
  }

  private createBucket(scratchPrefix: string, expiration: Duration): s3.Bucket {
    const common = {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
    };
    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      ...common,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
    });
    NagSuppressions.addResourceSuppressions(accessLogs, [
      {
        id: 'AwsSolutions-S1',
        reason: "This bucket is the destination of the data bucket's access logs; logging it again would recurse.",
      },
    ]);
    return new s3.Bucket(this, 'Bucket', {
      ...common,
      // Object Created events reach EventBridge, for the upload trigger.
      eventBridgeEnabled: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'data-bucket/',
      lifecycleRules: [
        {
          id: 'expire-scratch',
          prefix: scratchPrefix,
          expiration,
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
  }

  private suppressNag(smPolicy: iam.Policy, smRole: iam.Role): void {
    // Only "<bucket ARN>/<one of this job's prefixes>*": the bucket's ARN as cdk-nag renders it (a
    // `<Logical.Arn>` reference, or a literal S3 ARN of an imported bucket), then an exact prefix.
    const reEscape = (p: string) => p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    const prefixes = [this.inputPrefix, this.outputPrefix, this.scratchPrefix].map(reEscape).join('|');
    const prefixWildcard = {
      id: 'AwsSolutions-IAM5',
      reason:
        'Object ARNs end in "<prefix>*": a job reads and writes objects it names at run time (splits, parts, indexes) under its own prefixes, never the whole bucket.',
      appliesTo: [
        { regex: `/^Resource::(<[^>]+\\.Arn>|arn:(<AWS::Partition>|aws[-a-z]*):s3:::[^/]+)\\/(${prefixes})\\*$/g` },
      ],
    };
    NagSuppressions.addResourceSuppressions(this, [prefixWildcard], true);
    NagSuppressions.addResourceSuppressions(
      [smPolicy, smRole],
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'Added by CDK for X-Ray tracing and CloudWatch Logs delivery (xray:PutTraceSegments, logs:CreateLogDelivery, ...), APIs that take no resource-level permissions.',
          appliesTo: ['Resource::*'],
        },
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'A Distributed Map describes and stops the child executions of this state machine, whose names are made at run time.',
          appliesTo: [{ regex: '/^Resource::arn:.*:execution:.*\\/\\*$/g' }],
        },
        {
          id: 'AwsSolutions-IAM5',
          reason: `grantInvoke covers the function and its versions (":*"); only this job's six functions are named.`,
          appliesTo: [{ regex: '/^Resource::<.*\\.Arn>:\\*$/g' }],
        },
      ],
      true,
    );
  }
}

/** Bundling hooks that copy stream programs into a function's bundle, at their project-relative paths. */
function copyPrograms(programs: string[]): nodejs.ICommandHooks {
  const q = (p: string) => `'${p.replace(/'/g, "'\\''")}'`;
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (_input: string, output: string) =>
      programs.map((p) => {
        const to = path.join(output, p);
        return `mkdir -p ${q(path.dirname(to))} && cp -R ${q(path.resolve(p))} ${q(to)}`;
      }),
  };
}
