import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULTS } from '../functions/config.js';
import { PHASES, type Phase } from '../functions/runtime.js';
import { buildDefinition, LAMBDA_SERVICE_ERRORS, STATE, type State } from '../infra/definition.js';
import { StreamingDemoStack } from '../infra/demo-stack.js';
import { StreamingJob } from '../infra/streaming-job.js';
import { definitionFromTemplate, functionHandlers } from '../infra/template-definition.js';
import { ROOT, tempDir } from './helpers.js';

/** Bundling is skipped for the template tests (the last test bundles); the template is the same either way. */
const noBundling = () => new App({ context: { 'aws:cdk:bundling-stacks': [] } });

let app: App;
let stack: StreamingDemoStack;
let template: Template;
let json: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };

beforeAll(() => {
  app = noBundling();
  stack = new StreamingDemoStack(app, 'Demo');
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  template = Template.fromStack(stack);
  json = template.toJSON() as typeof json;
});

const resources = (type: string) => Object.entries(json.Resources).filter(([, r]) => r.Type === type);
/** The job's six functions (the stack also holds CDK's own helper functions). */
const isPhaseHandler = (h: string) => PHASES.some((p) => h === `index.${p}`);
const arnOf = (id: string) => `arn:aws:lambda:us-east-1:123456789012:function:${id}`;

describe('StreamingJob: the state machine', () => {
  it('is a Standard state machine with logging and tracing, whose definition is the one buildDefinition makes', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
    });
    const handlers = Object.fromEntries(Object.entries(functionHandlers(json)).filter(([, h]) => isPhaseHandler(h)));
    const arnByPhase = Object.fromEntries(
      Object.entries(handlers).map(([id, h]) => [h.replace('index.', ''), arnOf(id)]),
    ) as Record<Phase, string>;
    expect(Object.keys(arnByPhase).sort()).toEqual([...PHASES].sort());
    const deployed = definitionFromTemplate(json, arnOf);
    expect(deployed).toEqual(
      buildDefinition({
        functions: arnByPhase,
        maxConcurrency: DEFAULTS.maxConcurrency,
        taskAttempts: 3,
        retryIntervalSeconds: 1,
        taskTimeoutSeconds: 900,
      }),
    );
  });

  it('retries every task on the Lambda service errors and catches every step into Abort', () => {
    const def = definitionFromTemplate(json, arnOf) as { States: Record<string, State> };
    for (const map of [STATE.mapPhase, STATE.reducePhase]) {
      expect(def.States[map]!.ItemReader.Resource).toBe('arn:aws:states:::s3:getObject');
      expect(def.States[map]!.ItemProcessor.ProcessorConfig.Mode).toBe('DISTRIBUTED');
      const inner = Object.values(def.States[map]!.ItemProcessor.States)[0] as State;
      expect(inner.Retry[1].ErrorEquals).toEqual([...LAMBDA_SERVICE_ERRORS]);
      expect(def.States[map]!.Catch[0].Next).toBe(STATE.abort);
    }
  });
});

describe('StreamingJob: functions', () => {
  it('deploys one function per phase on Node 24, arm64, with the handler of its phase and the scratch location', () => {
    const fns = resources('AWS::Lambda::Function').filter(([, r]) => isPhaseHandler(String(r.Properties.Handler)));
    expect(fns.map(([, r]) => r.Properties.Handler).sort()).toEqual(PHASES.map((p) => `index.${p}`).sort());
    for (const [, r] of fns) {
      expect(r.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
      expect(JSON.stringify((r.Properties.Environment as { Variables: object }).Variables)).toContain(
        'STREAMING_SCRATCH',
      );
    }
  });
});

describe('StreamingJob: bucket and IAM', () => {
  it('makes the bucket private, encrypted, SSL-only, with scratch expiry', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: Match.objectLike({}),
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Prefix: 'scratch/', Status: 'Enabled' })]) },
      LoggingConfiguration: Match.objectLike({}),
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('grants no wildcard action and no S3 object access beyond the job’s prefixes', () => {
    type Statement = {
      Action: string | string[];
      Resource: unknown;
      Condition?: Record<string, Record<string, unknown>>;
    };
    // CDK's BucketNotificationsHandler (it turns on EventBridge delivery) is CDK's, not the job's.
    const ours = resources('AWS::IAM::Policy').filter(([id]) => !id.startsWith('BucketNotificationsHandler'));
    const statements = ours.flatMap(([, r]) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
    expect(statements.length).toBeGreaterThan(20);
    const OBJECT_ACTIONS = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'];
    for (const st of statements) {
      const actions = [st.Action].flat();
      for (const a of actions) expect(a.includes('*')).toBe(false);
      if (actions.some((a) => OBJECT_ACTIONS.includes(a)))
        for (const res of [st.Resource].flat())
          expect(JSON.stringify(res)).toMatch(/"\/(input|output|scratch)\/\*"\]\]\}$/);
      if (actions.includes('s3:ListBucket'))
        expect(st.Condition?.StringLike?.['s3:prefix']).toEqual([
          expect.stringMatching(/^(input|output|scratch)\/\*$/),
        ]);
      // Only services without resource-level permissions (X-Ray, log delivery) may name '*'.
      if (st.Resource === '*') for (const a of actions) expect(a).toMatch(/^(xray|logs):/);
    }
  });

  it('lets the state machine invoke exactly the six functions', () => {
    const fnIds = resources('AWS::Lambda::Function')
      .filter(([, r]) => isPhaseHandler(String(r.Properties.Handler)))
      .map(([id]) => id);
    const invoked = new Set<string>();
    for (const [, r] of resources('AWS::IAM::Policy'))
      for (const st of (
        r.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }
      ).Statement)
        if ([st.Action].flat().includes('lambda:InvokeFunction'))
          for (const m of JSON.stringify(st.Resource).matchAll(/"Fn::GetAtt":\["(\w+)","Arn"\]/g)) invoked.add(m[1]!);
    expect([...invoked].sort()).toEqual(fnIds.sort());
  });
  it('lets the Distributed Maps read their items from scratch and run only this state machine’s child executions', () => {
    const policy = Object.entries(json.Resources).find(([id]) => id.includes('StateMachineMapPolicy'))![1];
    const statements = (policy.Properties.PolicyDocument as { Statement: { Action: unknown; Resource: unknown }[] })
      .Statement;
    const byAction = (a: string) => statements.find((st) => [st.Action].flat().includes(a))!.Resource;
    const machine = Object.keys(template.findResources('AWS::StepFunctions::StateMachine'))[0]!;
    expect(byAction('states:StartExecution')).toEqual({ Ref: machine });
    // arn:<partition>:states:<region>:<account>:execution:<state machine name>/* — a colon before the name.
    const executions = byAction('states:DescribeExecution') as { 'Fn::Join': [string, unknown[]] };
    expect(byAction('states:StopExecution')).toEqual(executions);
    const parts = executions['Fn::Join'][1];
    expect(parts.slice(-3)).toEqual([':execution:', { 'Fn::GetAtt': [machine, 'Name'] }, '/*']);
    expect(parts[0]).toBe('arn:');
    expect(parts[2]).toBe(':states:');
    expect(JSON.stringify(byAction('s3:GetObject'))).toMatch(/"\/scratch\/\*"\]\]\}$/);
  });
});

describe('StreamingJob: found by name', () => {
  it('publishes where it lives in the SSM parameter /streaming/jobs/<name>', () => {
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/streaming/jobs/WordCount', Type: 'String' });
    const param = Object.values(template.findResources('AWS::SSM::Parameter'))[0]!;
    const value = JSON.stringify(param.Properties.Value);
    for (const k of ['stateMachineArn', 'bucket', 'inputPrefix', 'outputPrefix', 'scratch']) expect(value).toContain(k);
  });
});

describe('cdk-nag', () => {
  it('finds nothing unsuppressed in the AwsSolutions pack', () => {
    const errors = Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(errors.map((e) => `${e.id}: ${e.entry.data}`)).toEqual([]);
    expect(warnings.map((e) => `${e.id}: ${e.entry.data}`)).toEqual([]);
    // The pack did run: its suppressions, each with a reason, are recorded in the template.
    const suppressions = JSON.stringify(json).match(/"reason":"[^"]+"/g) ?? [];
    expect(suppressions.length).toBeGreaterThan(3);
    // Plain-ASCII reasons: cdk-nag would store any other reason base64-encoded, unreadable in the template.
    expect(JSON.stringify(json)).not.toContain('is_reason_encoded');
  });

  it('is clean for an imported bucket and other prefixes, whose object wildcards are the only ones suppressed', () => {
    const s = new Stack(noBundling(), 'Imported');
    new StreamingJob(s, 'WC', {
      job: path.join(ROOT, 'jobs', 'wordcount.ts'),
      bucket: s3.Bucket.fromBucketName(s, 'Data', 'my-data'),
      inputPrefix: 'data/in/',
      outputPrefix: 'data/out/',
      scratchPrefix: 'tmp.streaming/',
    });
    Aspects.of(s).add(new AwsSolutionsChecks({ verbose: true }));
    const found = [
      ...Annotations.fromStack(s).findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ...Annotations.fromStack(s).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ];
    expect(found.map((e) => `${e.id}: ${e.entry.data}`)).toEqual([]);
    const arns = JSON.stringify(Template.fromStack(s).toJSON()).match(/:s3:::my-data[^"]*/g) ?? [];
    expect(new Set(arns)).toEqual(
      new Set([
        ':s3:::my-data',
        ':s3:::my-data/data/in/*',
        ':s3:::my-data/data/out/*',
        ':s3:::my-data/tmp.streaming/*',
      ]),
    );
  });
});

describe('concurrency, tracing and lifecycle', () => {
  const fnsOf = (t: Template) =>
    Object.values(t.findResources('AWS::Lambda::Function')).filter((r) =>
      isPhaseHandler(String(r.Properties.Handler)),
    ) as { Properties: Record<string, unknown> }[];
  const mapConcurrency = (t: Template) =>
    (definitionFromTemplate(t.toJSON(), arnOf) as { States: Record<string, State> }).States[STATE.mapPhase]!
      .MaxConcurrency;
  /** What Plan cuts the input for (STREAMING_PARALLELISM on the plan function): the Maps' concurrency. */
  const parallelismOf = (t: Template) => {
    const plan = fnsOf(t).find((f) => f.Properties.Handler === 'index.plan')!;
    return (plan.Properties.Environment as { Variables: Record<string, unknown> }).Variables.STREAMING_PARALLELISM;
  };

  it('runs each Distributed Map well below the account’s default Lambda concurrency, and reserves none, by default', () => {
    expect(DEFAULTS.maxConcurrency).toBeLessThanOrEqual(250);
    expect(mapConcurrency(template)).toBe(DEFAULTS.maxConcurrency);
    for (const fn of fnsOf(template)) expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
    expect(parallelismOf(template)).toBe(String(DEFAULTS.maxConcurrency));
  });

  it('reservedConcurrency reserves (and caps) the map and reduce functions, and bounds the Maps’ concurrency', () => {
    const s = new Stack(noBundling(), 'Reserved');
    new StreamingJob(s, 'WC', { job: path.join(ROOT, 'jobs', 'wordcount.ts'), reservedConcurrency: 50 });
    const t = Template.fromStack(s);
    const reserved = Object.fromEntries(
      fnsOf(t).map((f) => [String(f.Properties.Handler), f.Properties.ReservedConcurrentExecutions]),
    );
    expect(reserved).toEqual({
      'index.plan': undefined,
      'index.map': 50,
      'index.shuffle': undefined,
      'index.reduce': 50,
      'index.commit': undefined,
      'index.abort': undefined,
    });
    expect(mapConcurrency(t)).toBe(50);
    expect(parallelismOf(t)).toBe('50');
    expect(
      () =>
        new StreamingJob(new Stack(noBundling(), 'Over'), 'WC', {
          job: path.join(ROOT, 'jobs', 'wordcount.ts'),
          reservedConcurrency: 50,
          maxConcurrency: 80,
        }),
    ).toThrow(/maxConcurrency \(80\) exceeds reservedConcurrency \(50\)/);
  });

  it('traces every function with X-Ray, as the state machine is traced', () => {
    for (const fn of fnsOf(template)) expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
  });

  it('aborts incomplete multipart uploads under the output prefix as under scratch, and never expires outputs', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Prefix: 'output/',
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            ExpirationInDays: Match.absent(),
          }),
        ]),
      },
    });
  });
});

describe('the demo stack', () => {
  it('starts word count on every upload under input/, writing to output/<key>/ (deploy, then upload a file)', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: Match.objectLike({ object: { key: [{ prefix: 'input/' }] } }),
      }),
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('StateMachine') } })],
    });
    const plan = Object.values(template.findResources('AWS::Lambda::Function')).find(
      (r) => r.Properties.Handler === 'index.plan',
    )!;
    expect(JSON.stringify(plan.Properties.Environment.Variables.STREAMING_UPLOAD_OUTPUT)).toMatch(/\/output\/"/);
  });
});

describe('StreamingJob props', () => {
  it('reports every invalid prop at once', () => {
    const s = new Stack(noBundling(), 'Bad');
    expect(
      () =>
        new StreamingJob(s, 'J', {
          job: path.join(ROOT, 'jobs', 'nope.ts'),
          maxConcurrency: 20_000,
          reducers: -1,
          inputPrefix: 'in',
        }),
    ).toThrow(/nope\.ts does not exist.*maxConcurrency must be 1-10000.*reducers must be.*inputPrefix must end with/);
    expect(
      () =>
        new StreamingJob(s, 'K', { job: path.join(ROOT, 'jobs', 'wordcount.ts'), maxConcurrency: 0, reducers: 1.5 }),
    ).toThrow(/maxConcurrency must be 1-10000 \(got 0\).*reducers must be a whole number >= 0 \(got 1\.5\)/);
  });
});

describe('bundling', () => {
  it('bundles the handlers with the job using the local esbuild (no Docker)', () => {
    const outdir = tempDir('streaming-cdk-');
    const bundled = new App({ outdir });
    new StreamingDemoStack(bundled, 'Bundled');
    const assembly = bundled.synth();
    const assets = fs.readdirSync(assembly.directory).filter((d) => d.startsWith('asset.'));
    expect(assets.length).toBeGreaterThan(0);
    const code = fs.readFileSync(path.join(assembly.directory, assets[0]!, 'index.mjs'), 'utf8');
    expect(code).toContain('wordcount');
    expect(code.length).toBeLessThan(3_000_000);
  }, 120_000);
});

describe('stream programs', () => {
  /** The map and reduce bundles of a synthesized stack: asset directories holding `programs/`. */
  const programAssets = (dir: string) =>
    fs.readdirSync(dir).filter((a) => a.startsWith('asset.') && fs.existsSync(path.join(dir, a, 'programs')));

  it('bundles the files the commands name (relative to the job file) and the job’s files into map and reduce', () => {
    const outdir = tempDir('streaming-cdk-');
    const app = new App({ outdir });
    const s = new Stack(app, 'Programs');
    new StreamingJob(s, 'StreamWC', { job: 'test/fixtures/stream-job.ts' });
    const assembly = app.synth();
    const assets = fs.readdirSync(assembly.directory).filter((d) => d.startsWith('asset.'));
    const withPrograms = programAssets(assembly.directory);
    // One asset for map and one for reduce (identical bundles may share one); not the others.
    expect(withPrograms.length).toBeGreaterThanOrEqual(1);
    expect(withPrograms.length).toBeLessThan(assets.length);
    for (const a of withPrograms)
      expect(fs.readdirSync(path.join(assembly.directory, a, 'programs', 'stream')).sort()).toEqual([
        'wc-map.mjs',
        'wc-reduce.mjs',
      ]);
    expect(() => new StreamingJob(new Stack(), 'Bad', { job: 'jobs/wordcount.ts', programs: ['nope/'] })).toThrow(
      /programs: nope\/ does not exist/,
    );
  }, 120_000);

  it('fails at synth when a command needs an interpreter the Node.js runtime lacks, saying what to do', () => {
    const job = path.join(ROOT, 'examples', 'wordcount-python', 'wordcount.ts');
    expect(() => new StreamingJob(new Stack(noBundling(), 'Py'), 'WC', { job })).toThrow(
      /the mapper of wordcount-python \(`python3 mapper\.py`\) runs python3, which the Node\.js Lambda runtime does not have: give the map and reduce functions a layer that provides it \(the `layers` prop; docs\/stream-programs\.md has a recipe for Python\), or make the program self-contained/,
    );
    // A script run by its #! line is found out too.
    const dir = tempDir('streaming-cdk-');
    fs.writeFileSync(path.join(dir, 'map.pl'), '#!/usr/bin/env perl\nprint;\n');
    fs.writeFileSync(
      path.join(dir, 'job.ts'),
      `import { defineJob } from 'streaming';\nexport default defineJob({ name: 'perl', mapper: './map.pl', reducers: 0 });\n`,
    );
    expect(() => new StreamingJob(new Stack(noBundling(), 'Pl'), 'P', { job: path.join(dir, 'job.ts') })).toThrow(
      /runs perl, which the Node\.js Lambda runtime does not have/,
    );
  }, 120_000);

  it('with a layer for the interpreter, gives it to the map and reduce functions only', () => {
    const s = new Stack(noBundling(), 'PyLayer');
    const python = lambda.LayerVersion.fromLayerVersionArn(
      s,
      'Python',
      'arn:aws:lambda:us-east-1:123456789012:layer:python:1',
    );
    const job = new StreamingJob(s, 'WC', {
      job: path.join(ROOT, 'examples', 'wordcount-python', 'wordcount.ts'),
      layers: [python],
    });
    const template = Template.fromStack(s);
    for (const phase of ['map', 'reduce'] as const)
      template.hasResourceProperties('AWS::Lambda::Function', {
        Handler: `index.${phase}`,
        Layers: ['arn:aws:lambda:us-east-1:123456789012:layer:python:1'],
      });
    expect(job.functions.plan).toBeDefined();
    const withLayers = template.findResources('AWS::Lambda::Function', { Properties: { Layers: Match.anyValue() } });
    expect(Object.keys(withLayers)).toHaveLength(2);
  }, 120_000);
});

describe('triggers', () => {
  const withTriggers = () => {
    const s = new Stack(noBundling(), 'Triggers');
    const job = new StreamingJob(s, 'WC', {
      job: path.join(ROOT, 'jobs', 'wordcount.ts'),
      onUpload: { prefix: 'input/uploads/', outputPrefix: 'output/uploads/' },
      schedule: { schedule: events.Schedule.cron({ minute: '0', hour: '6' }), inputPrefix: 'input/daily/' },
    });
    return { t: Template.fromStack(s), job };
  };

  it('adds an EventBridge rule for Object Created under the prefix, and a schedule, both starting the state machine', () => {
    const { t } = withTriggers();
    const rules = t.findResources('AWS::Events::Rule');
    const upload = Object.values(rules).find((r) => r.Properties.EventPattern)!;
    expect(upload.Properties.EventPattern).toMatchObject({
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: {
        object: { key: [{ prefix: 'input/uploads/' }] },
        bucket: { name: [{ Ref: expect.stringMatching(/Bucket/) }] },
      },
    });
    const scheduled = Object.values(rules).find((r) => r.Properties.ScheduleExpression)!;
    expect(scheduled.Properties.ScheduleExpression).toBe('cron(0 6 * * ? *)');
    for (const r of [upload, scheduled])
      expect(r.Properties.Targets[0].Arn).toEqual({ Ref: expect.stringMatching(/StateMachine/) });
    // The rules' role may start exactly this state machine.
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          Match.objectLike({
            Action: 'states:StartExecution',
            Resource: { Ref: Match.stringLikeRegexp('StateMachine') },
          }),
        ],
      },
    });
    // CDK turns on the bucket's EventBridge delivery through its notifications custom resource.
    t.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    });
  });

  it('tells Plan where trigger runs write and which prefixes never start a job', () => {
    const { t } = withTriggers();
    const plan = Object.values(t.findResources('AWS::Lambda::Function')).find(
      (r) => r.Properties.Handler === 'index.plan',
    )!;
    const env = JSON.stringify(plan.Properties.Environment.Variables);
    for (const v of [
      'STREAMING_UPLOAD_OUTPUT',
      'STREAMING_SCHEDULE_INPUT',
      'STREAMING_SCHEDULE_OUTPUT',
      'STREAMING_PROTECTED',
    ])
      expect(env).toContain(v);
    expect(env).toContain('/output/uploads/');
    expect(env).toContain('/input/daily/');
    expect(env).toContain('/output/scheduled/');
  });

  it('refuses an upload prefix where jobs write (a job would start itself)', () => {
    const s = new Stack(noBundling(), 'Loop');
    expect(
      () =>
        new StreamingJob(s, 'WC', {
          job: path.join(ROOT, 'jobs', 'wordcount.ts'),
          onUpload: { prefix: 'output/', outputPrefix: 'output/x/' },
        }),
    ).toThrow(/onUpload.prefix must lie under inputPrefix.*overlaps "output\/", where jobs write/);
  });
});
