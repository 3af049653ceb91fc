/**
 * The executor's emulation of Step Functions where aws-local-stepfunctions has none: the
 * payload quota (States.DataLimitExceeded, terminal: no Retry or Catch matches it, States.ALL
 * included), a Distributed Map's collected result (or its ResultWriter), and how a failed child
 * surfaces (States.ExceedToleratedFailureThreshold, the child's error not in it). Small
 * definitions, a fake Lambda, a 1 KiB quota: the rules, not the product.
 */
import { describe, expect, it } from '@jest/globals';
import type { State, StateMachineDefinition } from '../infra/definition.js';
import { type ExecuteOptions, executeDefinition, type ObjectLocation } from '../sdk/local/execute.js';

const LIMIT = 1024;
const FN = 'arn:aws:lambda:us-east-1:123456789012:function:f';
const catchAll = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Caught' }];
const retryAll = [{ ErrorEquals: ['States.ALL'], MaxAttempts: 3 }];

function machine(states: Record<string, State>, start: string): StateMachineDefinition {
  return {
    StartAt: start,
    States: { ...states, Caught: { Type: 'Pass', Result: 'caught', End: true } },
  };
}

/** A distributed Map over the items at `{Bucket:'b', Key:'items'}` whose child task is FN. */
function distributedMap(extra: State = {}): State {
  return {
    Type: 'Map',
    ItemReader: {
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: { InputType: 'JSON' },
      Parameters: { Bucket: 'b', Key: 'items' },
    },
    ItemSelector: { 'item.$': '$$.Map.Item.Value' },
    ItemProcessor: {
      ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
      StartAt: 'Child',
      States: { Child: { Type: 'Task', Resource: FN, Retry: retryAll, End: true } },
    },
    Catch: catchAll,
    End: true,
    ...extra,
  };
}

async function run(
  definition: StateMachineDefinition,
  invoke: (input: unknown) => unknown,
  more: Partial<ExecuteOptions> & { items?: unknown[] } = {},
) {
  const calls: unknown[] = [];
  const written = new Map<string, string>();
  const execution = await executeDefinition(
    definition,
    { x: 1 },
    {
      invoke: async (_resource, input) => {
        calls.push(input);
        return invoke(input);
      },
      readItems: async () => more.items ?? [1, 2, 3],
      writeObject: async (l: ObjectLocation, body: string) => {
        written.set(`${l.Bucket}/${l.Key}`, body);
      },
      concurrency: 2,
      retryDelayMs: 1,
      payloadLimitBytes: LIMIT,
      ...more,
    },
  );
  const outcome = await execution.result.then(
    (output) => ({ output, error: undefined }),
    (e: Error & { cause?: Error }) => ({ output: undefined, error: e.cause ?? e }),
  );
  // A task the failed execution let start would call invoke within a turn or two of the event loop.
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  return { ...outcome, calls, written };
}

const big = () => ({ blob: 'x'.repeat(LIMIT) });

describe('Step Functions payload quota (States.DataLimitExceeded)', () => {
  it('a task result over the quota fails the execution: not retried, not caught by States.ALL', async () => {
    const def = machine({ T: { Type: 'Task', Resource: FN, Retry: retryAll, Catch: catchAll, End: true } }, 'T');
    const { error, calls } = await run(def, big);
    expect(error?.name).toBe('States.DataLimitExceeded');
    expect(calls).toHaveLength(1);
  });

  it('a task input over the quota fails before the function is invoked', async () => {
    const def = machine(
      {
        T: {
          Type: 'Task',
          Resource: FN,
          Parameters: { 'a.$': '$.x', b: 'x'.repeat(LIMIT) },
          Catch: catchAll,
          End: true,
        },
      },
      'T',
    );
    const { error, calls } = await run(def, () => 1);
    expect(error?.name).toBe('States.DataLimitExceeded');
    expect(calls).toHaveLength(0);
  });

  it('a state output over the quota (a small result merged into a large input) stops before the next task runs', async () => {
    const def = machine(
      {
        Grow: { Type: 'Pass', Result: 'x'.repeat(LIMIT), ResultPath: '$.grown', Next: 'T' },
        T: { Type: 'Task', Resource: FN, Parameters: { small: true }, Catch: catchAll, End: true },
      },
      'Grow',
    );
    const { error, calls } = await run(def, () => 1);
    expect(error?.name).toBe('States.DataLimitExceeded');
    expect(error?.message).toMatch(/output of the state 'Grow'/);
    expect(calls).toHaveLength(0);
  });

  it('payloads within the quota pass, and a Map output that is small passes whatever its children returned', async () => {
    const def = machine({ M: distributedMap({ ResultPath: null }) }, 'M');
    const { output, error } = await run(def, () => 'ok');
    expect(error).toBeUndefined();
    expect(output).toEqual({ x: 1 });
  });
});

describe('a Distributed Map’s collected result', () => {
  const items = Array.from({ length: 40 }, (_, i) => i);

  it('counts against the quota even when ResultPath discards it, and fails the execution past it (no Catch)', async () => {
    const def = machine({ M: distributedMap({ ResultPath: null }) }, 'M');
    const { error, output } = await run(def, () => ({ task: 1, records: 12345 }), { items });
    expect(output).toBeUndefined();
    expect(error?.name).toBe('States.DataLimitExceeded');
    expect(error?.message).toMatch(/result of the Map state 'M'/);
  });

  it('with a ResultWriter goes to S3 as Step Functions writes it, and the Map returns where', async () => {
    const def = machine(
      {
        M: distributedMap({
          ResultWriter: {
            Resource: 'arn:aws:states:::s3:putObject',
            Parameters: { 'Bucket.$': '$.where.Bucket', 'Prefix.$': '$.where.Key' },
          },
          ResultPath: '$.mapRun',
        }),
      },
      'M',
    );
    const written = new Map<string, string>();
    const execution = await executeDefinition(
      def,
      { where: { Bucket: 'b', Key: 'runs' } },
      {
        invoke: async (_r, input) => ({ echo: input, records: 12345 }),
        readItems: async () => items,
        writeObject: async (l, body) => {
          written.set(`${l.Bucket}/${l.Key}`, body);
        },
        concurrency: 4,
        payloadLimitBytes: LIMIT,
      },
    );
    const output = (await execution.result) as { where: unknown; mapRun: { ResultWriterDetails: { Key: string } } };
    expect(output.where).toEqual({ Bucket: 'b', Key: 'runs' });
    const manifestKey = `b/${output.mapRun.ResultWriterDetails.Key}`;
    expect(manifestKey).toMatch(/^b\/runs\/[0-9a-f-]+\/manifest\.json$/);
    const manifest = JSON.parse(written.get(manifestKey)!);
    const records = JSON.parse(written.get(`b/${manifest.ResultFiles.SUCCEEDED[0].Key}`)!) as { Output: string }[];
    expect(records.map((r) => JSON.parse(r.Output).echo)).toEqual(items.map((item) => ({ item })));
    expect(Object.keys(output).sort()).toEqual(['mapRun', 'where']); // no bridge field leaves the Map
  });
});

describe('a failed child of a Distributed Map', () => {
  const failing = () => {
    throw Object.assign(new Error('the child’s own error'), { name: 'ChildError' });
  };

  it('fails the Map with States.ExceedToleratedFailureThreshold, as AWS reports it: the child’s error is not in it', async () => {
    const seen: { Error: string; Cause?: string }[] = [];
    const def = machine({ M: distributedMap({ ResultPath: null, Catch: undefined }) }, 'M');
    const { error, calls } = await run(def, failing, {
      childFailures: 'aws',
      onChildFailure: (_map, e) => seen.push(e),
    });
    expect(error?.name).toBe('States.ExceedToleratedFailureThreshold');
    expect(error?.message).not.toMatch(/own error|ChildError/);
    expect(seen[0]).toMatchObject({ Error: 'ChildError' });
    expect(calls.length).toBeGreaterThanOrEqual(4); // the child's own Retry ran first
  });

  it('is caught by the Map’s Catch like any error of the Map', async () => {
    const def = machine({ M: distributedMap({ ResultPath: null }) }, 'M');
    const { output } = await run(def, failing, { childFailures: 'aws' });
    expect(output).toBe('caught');
  });

  it('a child result over the quota fails the child, and so the Map (caught), not the whole execution', async () => {
    const def = machine({ M: distributedMap({ ResultPath: null }) }, 'M');
    const seen: string[] = [];
    const { output, calls } = await run(def, big, {
      childFailures: 'aws',
      onChildFailure: (_m, e) => seen.push(e.Error),
    });
    expect(output).toBe('caught');
    expect(seen).toContain('States.DataLimitExceeded');
    expect(calls.length).toBeLessThanOrEqual(3); // not retried: one attempt per child that started
  });

  it('with childFailures "child" (the local engine), fails the Map with the child’s own error', async () => {
    const def = machine({ M: distributedMap({ ResultPath: null, Catch: undefined }) }, 'M');
    const { error } = await run(def, failing, { childFailures: 'child' });
    expect(error?.name).toBe('ChildError');
  });
});
