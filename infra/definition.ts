/**
 * The one state machine definition (DESIGN §3), as plain Amazon States Language JSON in
 * JSONPath: the CDK construct deploys it and the local engine executes it. No aws-cdk-lib
 * here: ARNs come in as strings (CDK tokens in the cloud, local names on one machine).
 */
import { DEFAULTS } from '../functions/config.js';
import { NON_RETRYABLE_ERRORS } from '../functions/errors.js';
import type { Phase } from '../functions/runtime.js';

export interface DefinitionOptions {
  /** The Lambda function ARN that runs each phase. */
  readonly functions: Readonly<Record<Phase, string>>;
  /** Concurrent child executions of each Distributed Map (1-10,000). @default DEFAULTS.maxConcurrency */
  readonly maxConcurrency?: number;
  /** Attempts of a failing task, the first included. @default DEFAULTS.taskAttempts */
  readonly taskAttempts?: number;
  /** First retry delay of a failing task in seconds; doubles per attempt. @default DEFAULTS.retryIntervalSeconds */
  readonly retryIntervalSeconds?: number;
  /**
   * Longest a task attempt may run: the functions' own timeout (Lambda's Timeout). Each Task
   * state waits that long plus STATE_TIMEOUT_MARGIN_SECONDS before it fails with States.Timeout,
   * so the function's own timeout (Sandbox.Timedout, after the attempt stopped) reports first and
   * a retry never overlaps an attempt still running.
   * @default DEFAULTS.taskTimeoutSeconds (900: the Lambda maximum)
   */
  readonly taskTimeoutSeconds?: number;
}

// biome-ignore lint/suspicious/noExplicitAny: ASL is free-form JSON.
export type State = Record<string, any>;
export interface StateMachineDefinition {
  Comment?: string;
  StartAt: string;
  States: Record<string, State>;
}

/** State names, shared with the local engine and the tests. */
export const STATE = {
  start: 'Start',
  plan: 'Plan',
  delivered: 'Delivered before?',
  duplicate: 'Duplicate delivery',
  mapPhase: 'Map phase',
  mapTask: 'Map task',
  mapOnly: 'Map-only job?',
  shuffle: 'Shuffle plan',
  reducePhase: 'Reduce phase',
  reduceTask: 'Reduce task',
  commit: 'Commit',
  moreSteps: 'More steps?',
  nextStep: 'Next step',
  done: 'Done',
  abort: 'Abort',
  failed: 'Failed',
} as const;

/** The Distributed Maps' labels, which name their Map Runs. */
export const MAP_RUN_LABEL = { map: 'map', reduce: 'reduce' } as const;

/**
 * What a Task state waits beyond its function's timeout: Lambda's initialisation (up to 10 s)
 * and the invocation's own latency are not in the function's timeout.
 */
export const STATE_TIMEOUT_MARGIN_SECONDS = 60;

/** Lambda's own transient failures: retried with backoff and jitter, whatever the task policy. */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;

export function buildDefinition(options: DefinitionOptions): StateMachineDefinition {
  const fn = options.functions;
  const maxConcurrency = options.maxConcurrency ?? DEFAULTS.maxConcurrency;
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1 || maxConcurrency > 10_000)
    throw new RangeError(`maxConcurrency must be 1-10000 (got ${maxConcurrency})`);
  const attempts = options.taskAttempts ?? DEFAULTS.taskAttempts;
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError(`taskAttempts must be >= 1 (got ${attempts})`);
  const interval = options.retryIntervalSeconds ?? DEFAULTS.retryIntervalSeconds;
  const timeout = options.taskTimeoutSeconds ?? DEFAULTS.taskTimeoutSeconds;
  if (!Number.isInteger(timeout) || timeout < 1)
    throw new RangeError(`taskTimeoutSeconds must be >= 1 (got ${timeout})`);

  const retry = [
    { ErrorEquals: [...NON_RETRYABLE_ERRORS], MaxAttempts: 0 },
    {
      ErrorEquals: [...LAMBDA_SERVICE_ERRORS],
      IntervalSeconds: 1,
      MaxAttempts: 6,
      BackoffRate: 2,
      MaxDelaySeconds: 60,
      JitterStrategy: 'FULL',
    },
    ...(attempts > 1
      ? [
          {
            ErrorEquals: ['States.ALL'],
            IntervalSeconds: interval,
            MaxAttempts: attempts - 1,
            BackoffRate: 2,
            // Tasks failing together (a throttled S3 prefix, a service blip) retry spread out, not at once.
            JitterStrategy: 'FULL',
          },
        ]
      : []),
  ];
  const toAbort = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.abort }];
  // An explicit timeout: interpreters differ in their default (AWS: none; aws-local-stepfunctions: 60 s).
  const task = (resource: string, extra: State): State => ({
    Type: 'Task',
    Resource: resource,
    TimeoutSeconds: timeout + STATE_TIMEOUT_MARGIN_SECONDS,
    Retry: retry,
    ...extra,
  });
  const distributedMap = (
    label: string,
    items: string,
    taskName: string,
    resource: string,
    selector: State,
    next: string,
  ): State => ({
    Type: 'Map',
    // Names the Map Runs (their ARNs end in <state machine>/<label>:<id>): status() counts a phase's done tasks with DescribeMapRun.
    Label: label,
    ItemReader: {
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: { InputType: 'JSON' },
      Parameters: { 'Bucket.$': `${items}.Bucket`, 'Key.$': `${items}.Key` },
    },
    ItemSelector: selector,
    ItemProcessor: {
      ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
      StartAt: taskName,
      States: { [taskName]: task(resource, { End: true }) },
    },
    MaxConcurrency: maxConcurrency,
    // The children's results go to scratch, not into the state: a Distributed Map's collected
    // result counts against the 256 KiB payload quota (past ~8,500 `{task, records}` results),
    // and States.DataLimitExceeded is terminal (no Catch, no Abort, no _FAILED).
    ResultWriter: {
      Resource: 'arn:aws:states:::s3:putObject',
      Parameters: { 'Bucket.$': '$.plan.mapRuns.Bucket', 'Prefix.$': '$.plan.mapRuns.Key' },
    },
    ResultPath: null,
    Catch: toAbort,
    Next: next,
  });

  return {
    Comment:
      'Streaming MapReduce job: plan, map, shuffle plan, reduce, commit (then the next step, if any); any failure aborts.',
    StartAt: STATE.start,
    States: {
      // Plan learns its execution: the claim names it, and an event delivered twice runs once (functions/phases/delivery.ts).
      [STATE.start]: {
        Type: 'Pass',
        Parameters: { 'id.$': '$$.Execution.Id' },
        ResultPath: '$.execution',
        Next: STATE.plan,
      },
      // No ResultPath: the result replaces the input (the default; aws-local-stepfunctions 3.0 mishandles an explicit '$').
      [STATE.plan]: task(fn.plan, { Catch: toAbort, Next: STATE.delivered }),
      [STATE.delivered]: {
        Type: 'Choice',
        Choices: [{ Variable: '$.duplicate', IsPresent: true, Next: STATE.duplicate }],
        Default: STATE.mapPhase,
      },
      // Plan found the event handled by an earlier execution, did nothing, and logged so.
      [STATE.duplicate]: { Type: 'Succeed' },
      [STATE.mapPhase]: distributedMap(
        MAP_RUN_LABEL.map,
        '$.plan.splits',
        STATE.mapTask,
        fn.map,
        { 'job.$': '$.job', 'split.$': '$$.Map.Item.Value' },
        STATE.mapOnly,
      ),
      [STATE.mapOnly]: {
        Type: 'Choice',
        Choices: [{ Variable: '$.job.reducers', NumericEquals: 0, Next: STATE.commit }],
        Default: STATE.shuffle,
      },
      [STATE.shuffle]: task(fn.shuffle, {
        Parameters: { 'job.$': '$.job', 'plan.$': '$.plan' },
        ResultPath: '$.shuffle',
        Catch: toAbort,
        Next: STATE.reducePhase,
      }),
      [STATE.reducePhase]: distributedMap(
        MAP_RUN_LABEL.reduce,
        '$.shuffle.reducers',
        STATE.reduceTask,
        fn.reduce,
        { 'job.$': '$.job', 'reducer.$': '$$.Map.Item.Value' },
        STATE.commit,
      ),
      [STATE.commit]: task(fn.commit, {
        Parameters: { 'job.$': '$.job', 'plan.$': '$.plan' },
        ResultPath: '$.result',
        OutputPath: '$.result',
        Catch: toAbort,
        Next: STATE.moreSteps,
      }),
      // A multi-step job: Commit hands over the next step's spec, and the machine runs it from Plan.
      [STATE.moreSteps]: {
        Type: 'Choice',
        Choices: [{ Variable: '$.next', IsPresent: true, Next: STATE.nextStep }],
        Default: STATE.done,
      },
      [STATE.nextStep]: { Type: 'Pass', InputPath: '$.next', Next: STATE.plan },
      [STATE.done]: { Type: 'Succeed' },
      [STATE.abort]: task(fn.abort, { ResultPath: '$.abort', Next: STATE.failed }),
      [STATE.failed]: { Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' },
    },
  };
}
