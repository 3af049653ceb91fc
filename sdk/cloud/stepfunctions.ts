/**
 * The Step Functions calls a job handle makes, behind one small interface, so the SDK is
 * tested against the real flow (the deployed definition run locally) rather than a mock.
 */
import type { SFNClient } from '@aws-sdk/client-sfn';

/** Loaded on first use: local runs import the SDK, and the AWS clients would cost every worker start-up time. */
const sfnSdk = () => import('@aws-sdk/client-sfn');

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';

export interface ExecutionDescription {
  status: ExecutionStatus;
  /** JSON text of the execution's output, when it succeeded. */
  output?: string;
  /** JSON text of the execution's input (the job spec). */
  input?: string;
  error?: string;
  cause?: string;
}

/** A Distributed Map's run, as DescribeMapRun counts its items (child executions). */
export interface MapRunProgress {
  /** The Map state's `Label` (the definition labels its Maps `map` and `reduce`). */
  label: string;
  /** When the Map Run started, ms since the epoch. */
  started: number;
  succeeded: number;
  total: number;
}

export interface StepFunctionsApi {
  startExecution(stateMachineArn: string, name: string, input: unknown): Promise<string>;
  describeExecution(executionArn: string): Promise<ExecutionDescription>;
  stopExecution(executionArn: string, cause: string): Promise<void>;
  /**
   * The newest Map Run of each label in the execution: one ListMapRuns page and a DescribeMapRun
   * per label (two), whatever the number of items.
   */
  mapRuns(executionArn: string): Promise<MapRunProgress[]>;
}

/** `arn:aws:states:<region>:<account>:mapRun:<state machine>/<label>:<id>` → label. */
export const mapRunLabel = (mapRunArn: string) => mapRunArn.split(':').at(-2)?.split('/').at(-1) ?? '';

/** AWS Step Functions through the SDK v3; endpoint, region and credentials from the standard configuration. */
export function awsStepFunctions(given?: SFNClient): StepFunctionsApi {
  let made: Promise<SFNClient> | undefined;
  const sfn = () => (made ??= given ? Promise.resolve(given) : sfnSdk().then((m) => new m.SFNClient({})));
  return {
    async startExecution(stateMachineArn, name, input) {
      const [client, { StartExecutionCommand }] = await Promise.all([sfn(), sfnSdk()]);
      const res = await client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      return res.executionArn!;
    },
    async describeExecution(executionArn) {
      const [client, { DescribeExecutionCommand }] = await Promise.all([sfn(), sfnSdk()]);
      const d = await client.send(new DescribeExecutionCommand({ executionArn }));
      const out: ExecutionDescription = { status: d.status as ExecutionStatus };
      if (d.output !== undefined) out.output = d.output;
      if (d.input !== undefined) out.input = d.input;
      if (d.error !== undefined) out.error = d.error;
      if (d.cause !== undefined) out.cause = d.cause;
      return out;
    },
    async mapRuns(executionArn) {
      const [client, { ListMapRunsCommand, DescribeMapRunCommand }] = await Promise.all([sfn(), sfnSdk()]);
      // Newest first is not promised: keep the latest-started run of each label from one page
      // (two Map Runs per step; a multi-step job of more than 500 steps would need a second page).
      const listed = await client.send(new ListMapRunsCommand({ executionArn, maxResults: 1000 }));
      const newest = new Map<string, { arn: string; started: number }>();
      for (const r of listed.mapRuns ?? []) {
        const label = mapRunLabel(r.mapRunArn ?? '');
        const started = r.startDate?.getTime() ?? 0;
        if ((newest.get(label)?.started ?? -1) < started) newest.set(label, { arn: r.mapRunArn!, started });
      }
      return Promise.all(
        [...newest].map(async ([label, { arn, started }]) => {
          const d = await client.send(new DescribeMapRunCommand({ mapRunArn: arn }));
          return { label, started, succeeded: d.itemCounts?.succeeded ?? 0, total: d.itemCounts?.total ?? 0 };
        }),
      );
    },
    async stopExecution(executionArn, cause) {
      const [client, { StopExecutionCommand }] = await Promise.all([sfn(), sfnSdk()]);
      await client.send(new StopExecutionCommand({ executionArn, cause, error: 'JobCancelledError' }));
    },
  };
}
