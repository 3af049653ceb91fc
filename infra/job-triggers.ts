import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { JobPrefixes } from './job-access.js';

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

/**
 * EventBridge rules that start the state machine with AWS's own events; Plan turns them into
 * job specs (functions/events.ts) from the settings given here to the functions that read
 * events: Plan, and Abort (which marks where a run whose Plan failed was to write).
 */
export function addTriggers(
  scope: Construct,
  job: {
    readers: readonly lambda.Function[];
    stateMachine: sfn.IStateMachine;
    bucket: s3.IBucket;
    prefixes: JobPrefixes;
  },
  triggers: { onUpload?: StreamingJobUploadTrigger | undefined; schedule?: StreamingJobSchedule | undefined },
): void {
  const { readers, stateMachine, bucket, prefixes } = job;
  const at = (prefix: string) => bucket.s3UrlForObject(prefix);
  const setting = (name: string, value: string) => {
    for (const fn of readers) fn.addEnvironment(name, value);
  };
  setting('STREAMING_PROTECTED', [at(prefixes.output), at(prefixes.scratch)].join(','));
  const { onUpload, schedule } = triggers;
  if (onUpload) {
    setting('STREAMING_UPLOAD_OUTPUT', at(onUpload.outputPrefix));
    new events.Rule(scope, 'OnUpload', {
      description: `Starts ${scope.node.path} for each object created under ${onUpload.prefix}`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: { bucket: { name: [bucket.bucketName] }, object: { key: [{ prefix: onUpload.prefix }] } },
      },
      targets: [new targets.SfnStateMachine(stateMachine)],
    });
  }
  if (schedule) {
    setting('STREAMING_SCHEDULE_INPUT', at(schedule.inputPrefix ?? prefixes.input));
    setting('STREAMING_SCHEDULE_OUTPUT', at(schedule.outputPrefix ?? `${prefixes.output}scheduled/`));
    new events.Rule(scope, 'Schedule', {
      description: `Runs ${scope.node.path} on a schedule`,
      schedule: schedule.schedule,
      targets: [new targets.SfnStateMachine(stateMachine)],
    });
  }
}
