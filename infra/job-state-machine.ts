import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { PHASES, type Phase } from '../functions/runtime.js';
import { buildDefinition, type DefinitionOptions } from './definition.js';

export interface JobStateMachine {
  readonly stateMachine: sfn.StateMachine;
  readonly role: iam.Role;
  /** What the Distributed Maps need (their items in scratch, their child executions). */
  readonly mapPolicy: iam.Policy;
}

/**
 * The Standard state machine whose definition is `buildDefinition()` (the one the local engine
 * runs), logged and traced, with a role that may invoke exactly the job's functions, read the
 * Distributed Maps' items from scratch and run this state machine's own child executions.
 */
export function jobStateMachine(
  scope: Construct,
  functions: Readonly<Record<Phase, lambda.IFunction>>,
  options: Omit<DefinitionOptions, 'functions'> & {
    readonly bucket: s3.IBucket;
    readonly scratchPrefix: string;
    readonly logRetention: logs.RetentionDays;
  },
): JobStateMachine {
  const stack = Stack.of(scope);
  const { bucket, scratchPrefix, logRetention, ...definitionOptions } = options;
  const definition = buildDefinition({
    ...definitionOptions,
    functions: Object.fromEntries(PHASES.map((p) => [p, functions[p].functionArn])) as Record<Phase, string>,
  });
  const role = new iam.Role(scope, 'StateMachineRole', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') });
  const stateMachine = new sfn.StateMachine(scope, 'StateMachine', {
    definitionBody: sfn.DefinitionBody.fromString(stack.toJsonString(definition)),
    stateMachineType: sfn.StateMachineType.STANDARD,
    role,
    tracingEnabled: true,
    logs: {
      destination: new logs.LogGroup(scope, 'StateMachineLogs', { retention: logRetention }),
      level: sfn.LogLevel.ALL,
      includeExecutionData: false,
    },
  });
  for (const phase of PHASES) functions[phase].grantInvoke(role);
  const mapPolicy = new iam.Policy(scope, 'StateMachineMapPolicy', {
    roles: [role],
    statements: [
      // ItemReader reads the items; ResultWriter writes the children's results (multipart for large ones).
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
        resources: [bucket.arnForObjects(`${scratchPrefix}*`)],
      }),
      new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [stateMachine.stateMachineArn] }),
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [executionsOf(stateMachine, '/*')],
      }),
    ],
  });
  return { stateMachine, role, mapPolicy };
}

/**
 * The ARN pattern of a state machine's executions: `arn:…:execution:<state machine name><tail>`
 * (a colon before the name). A Distributed Map's child executions are `<name>/<map run>:<child>`.
 */
export function executionsOf(stateMachine: sfn.StateMachine, tail: string): string {
  return Stack.of(stateMachine).formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${stateMachine.stateMachineName}${tail}`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}
