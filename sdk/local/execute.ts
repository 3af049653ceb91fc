/**
 * Executes a Streaming state machine definition, the cloud's own, on this machine with
 * aws-local-stepfunctions: Distributed Maps are bridged (bridge.ts) and every Task state calls
 * `invoke` with its resource ARN, as Step Functions would invoke that Lambda function. The
 * local engine binds the ARNs to its worker pool; tests bind the deployed template's ARNs to
 * the Lambda handlers themselves. One executor, so both run the flow the same way.
 */
import type { StateMachineDefinition } from '../../infra/definition.js';
import { bridgeDistributedMaps, READ_ITEMS_RESOURCE, taskStates } from './bridge.js';
import './polyfill.js';

export interface ExecuteOptions {
  /** Runs the task of a resource (a Lambda ARN) on its input. Throw an Error whose `name` is the error type. */
  invoke: (resource: string, input: unknown) => Promise<unknown>;
  /** Reads the items an ItemReader names (`{Bucket, Key}`): a JSON array. */
  readItems: (location: unknown) => Promise<unknown>;
  /** Iterations in flight per Map. */
  concurrency: number;
  /** Wait before each retry, in ms, instead of the definition's intervals. @default the definition's */
  retryDelayMs?: number;
}

export interface Execution {
  result: Promise<unknown>;
  abort(): void;
}

export async function executeDefinition(
  definition: StateMachineDefinition,
  input: unknown,
  options: ExecuteOptions,
): Promise<Execution> {
  const { StateMachine } = await import('aws-local-stepfunctions');
  const local = bridgeDistributedMaps(definition, { concurrency: options.concurrency });
  const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  const retryIntervalOverrides: Record<string, number> = {};
  for (const [state, resource] of taskStates(local)) {
    if (options.retryDelayMs !== undefined) retryIntervalOverrides[state] = options.retryDelayMs;
    handlers[state] = resource === READ_ITEMS_RESOURCE ? options.readItems : (i) => options.invoke(resource, i);
  }
  // The interpreter's types describe ASL more narrowly than our plain-JSON builder; it is the same object.
  // Its validation (asl-validator compiling JSON schemas, ~0.13 s of every run's start-up) is
  // skipped: the definition is the engine's own, and test/definition.test.ts validates it.
  const machine = new StateMachine(local as never, {
    validationOptions: { checkPaths: false, checkArn: false, noValidate: true },
  });
  const execution = machine.run(input as never, {
    overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides },
  });
  return { result: execution.result, abort: () => execution.abort() };
}
