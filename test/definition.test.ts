import { createRequire } from 'node:module';
import { describe, expect, it } from '@jest/globals';
import { NON_RETRYABLE_ERRORS } from '../functions/errors.js';
import { PHASES } from '../functions/runtime.js';
import { buildDefinition, LAMBDA_SERVICE_ERRORS, STATE, type State } from '../infra/definition.js';
import {
  bridgeDistributedMaps,
  ITEMS_PATH,
  MAP_RESULTS_RESOURCE,
  READ_ITEMS_RESOURCE,
  RESULTS_PATH,
  taskStates,
} from '../sdk/local/bridge.js';

/** The Amazon States Language's JSON schema and path checks (aws-local-stepfunctions' validator). */
const aslValidator = createRequire(import.meta.url)('asl-validator') as (
  definition: unknown,
  options: { checkPaths: boolean; checkArn: boolean },
) => { isValid: boolean; errorsText: (separator: string) => string };

const functions = Object.fromEntries(
  PHASES.map((p) => [p, `arn:aws:lambda:us-east-1:123456789012:function:${p}`]),
) as Record<(typeof PHASES)[number], string>;

describe('state machine definition', () => {
  const def = buildDefinition({ functions, maxConcurrency: 500, taskAttempts: 4, retryIntervalSeconds: 2 });

  it('runs Plan, a Distributed Map over the splits, shuffle plan, a Distributed Map over the reducers, Commit', () => {
    // Plan gets the execution's id; an event delivered again ends the execution after Plan.
    expect(def.StartAt).toBe(STATE.start);
    expect(def.States[STATE.start]).toMatchObject({ Parameters: { 'id.$': '$$.Execution.Id' }, Next: STATE.plan });
    expect(def.States[STATE.plan]!.Next).toBe(STATE.delivered);
    expect(def.States[STATE.delivered]).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.duplicate', IsPresent: true, Next: STATE.duplicate }],
      Default: STATE.mapPhase,
    });
    expect(def.States[STATE.duplicate]).toEqual({ Type: 'Succeed' });
    for (const [map, task, items] of [
      [STATE.mapPhase, STATE.mapTask, '$.plan.splits'],
      [STATE.reducePhase, STATE.reduceTask, '$.shuffle.reducers'],
    ] as const) {
      const s = def.States[map]!;
      expect(s.Type).toBe('Map');
      expect(s.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
      expect(s.ItemReader).toEqual({
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { InputType: 'JSON' },
        Parameters: { 'Bucket.$': `${items}.Bucket`, 'Key.$': `${items}.Key` },
      });
      expect(s.MaxConcurrency).toBe(500);
      expect(s.ResultPath).toBeNull();
      expect(Object.keys(s.ItemProcessor.States)).toEqual([task]);
    }
    expect(def.States[STATE.mapOnly]!.Choices[0]).toEqual({
      Variable: '$.job.reducers',
      NumericEquals: 0,
      Next: STATE.commit,
    });
    // Commit then loops back to Plan while a multi-step job has steps left, else ends.
    expect(def.States[STATE.commit]!.Next).toBe(STATE.moreSteps);
    expect(def.States[STATE.moreSteps]).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.next', IsPresent: true, Next: STATE.nextStep }],
      Default: STATE.done,
    });
    expect(def.States[STATE.nextStep]).toEqual({ Type: 'Pass', InputPath: '$.next', Next: STATE.plan });
    expect(def.States[STATE.done]!.Type).toBe('Succeed');
    expect(def.States[STATE.abort]!.Next).toBe(STATE.failed);
    expect(def.States[STATE.failed]!.Type).toBe('Fail');
  });

  it('retries every task (Lambda service errors with backoff and jitter, task errors per policy) and catches into Abort', () => {
    const tasks = taskStates(def);
    expect(new Set(tasks.values())).toEqual(new Set(Object.values(functions)));
    const all: Record<string, State> = {
      ...def.States,
      ...def.States[STATE.mapPhase]!.ItemProcessor.States,
      ...def.States[STATE.reducePhase]!.ItemProcessor.States,
    };
    for (const name of tasks.keys()) {
      const retry = all[name]!.Retry as State[];
      expect(retry[0]).toEqual({ ErrorEquals: [...NON_RETRYABLE_ERRORS], MaxAttempts: 0 });
      expect(retry[1]).toMatchObject({
        ErrorEquals: [...LAMBDA_SERVICE_ERRORS],
        BackoffRate: 2,
        JitterStrategy: 'FULL',
      });
      expect(retry[2]).toMatchObject({
        ErrorEquals: ['States.ALL'],
        IntervalSeconds: 2,
        MaxAttempts: 3,
        BackoffRate: 2,
      });
      // Every retrier that retries spreads its retries (tasks failing together must not retry together).
      for (const r of retry) if (r.MaxAttempts > 0) expect(r.JitterStrategy).toBe('FULL');
      // The state outwaits its function, whose own timeout reports first.
      expect(all[name]!.TimeoutSeconds).toBeGreaterThan(900);
    }
    for (const name of [STATE.plan, STATE.mapPhase, STATE.shuffle, STATE.reducePhase, STATE.commit])
      expect(def.States[name]!.Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.abort },
      ]);
  });

  it('is valid Amazon States Language by asl-validator, with every path and ARN checked, in JSONPath', () => {
    for (const d of [def, buildDefinition({ functions, taskAttempts: 1 })]) {
      // A copy: the validator writes its defaults (QueryLanguage) into what it is given.
      const r = aslValidator(structuredClone(d), { checkPaths: true, checkArn: true });
      expect(r.errorsText('\n')).toBe('');
      expect(r.isValid).toBe(true);
      // Only JSON values (no undefined, no class instances), and no JSONata or variables.
      expect(JSON.parse(JSON.stringify(d))).toStrictEqual(d);
      expect(JSON.stringify(d)).not.toMatch(/QueryLanguage|Assign|\{%/);
    }
  });

  it('rejects out-of-range settings', () => {
    expect(() => buildDefinition({ functions, maxConcurrency: 10_001 })).toThrow(RangeError);
    expect(() => buildDefinition({ functions, taskAttempts: 0 })).toThrow(RangeError);
  });
});

describe('local bridge of Distributed Maps', () => {
  const def = buildDefinition({ functions });
  const local = bridgeDistributedMaps(def, { concurrency: 3 });

  it('is valid ASL as the local engine runs it (the engine skips the interpreter’s validation)', () => {
    for (const taskAttempts of [1, 3]) {
      const d = bridgeDistributedMaps(buildDefinition({ functions, taskTimeoutSeconds: 900, taskAttempts }), {
        concurrency: 2,
      });
      const r = aslValidator(d, { checkPaths: false, checkArn: false });
      expect(r.errorsText('\n')).toBe('');
      expect(r.isValid).toBe(true);
    }
  });

  it('puts an item-reading Task under the Map’s name, runs the same ItemProcessor inline, then places its result', () => {
    for (const name of [STATE.mapPhase, STATE.reducePhase]) {
      const original = def.States[name]!;
      const reader = local.States[name]!;
      expect(reader).toMatchObject({
        Type: 'Task',
        Resource: READ_ITEMS_RESOURCE,
        ResultPath: ITEMS_PATH,
        Next: `${name} (items)`,
      });
      expect(reader.Parameters).toEqual(original.ItemReader.Parameters);
      expect(reader.Catch).toEqual(original.Catch);
      const map = local.States[`${name} (items)`]!;
      expect(map).toMatchObject({
        Type: 'Map',
        ItemsPath: ITEMS_PATH,
        ItemSelector: original.ItemSelector,
        MaxConcurrency: 3,
        ResultPath: RESULTS_PATH,
        Catch: original.Catch,
        Next: `${name} (results)`,
      });
      expect(map.ItemReader).toBeUndefined();
      expect(map.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'INLINE' });
      const { ProcessorConfig: _a, ...inner } = map.ItemProcessor;
      const { ProcessorConfig: _b, ...states } = original.ItemProcessor;
      expect(inner).toEqual(states);
      // The results Task: the Map's own ResultWriter, ResultPath, Catch and next state.
      expect(local.States[`${name} (results)`]).toEqual({
        Type: 'Task',
        Resource: MAP_RESULTS_RESOURCE,
        Parameters: {
          map: name,
          'state.$': '$',
          writer: original.ResultWriter?.Parameters ?? null,
          ...('ResultPath' in original ? { resultPath: original.ResultPath } : {}),
        },
        Catch: original.Catch,
        Next: original.Next,
      });
    }
  });

  it('with childFailures "aws" catches a failed child into the results Task, which fails the Map as Step Functions does', () => {
    const aws = bridgeDistributedMaps(def, { concurrency: 3, childFailures: 'aws' });
    for (const name of [STATE.mapPhase, STATE.reducePhase])
      expect(aws.States[`${name} (items)`]!.Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.__failure', Next: `${name} (results)` },
      ]);
  });

  it('changes nothing else', () => {
    for (const [name, state] of Object.entries(def.States))
      if (state.Type !== 'Map') expect(local.States[name]).toEqual(state);
    expect(def.States[STATE.mapPhase]!.ItemReader).toBeDefined();
  });
});
