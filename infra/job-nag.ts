/** cdk-nag suppressions of a StreamingJob, each with its reason; nothing else is suppressed. */
import { Stack } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import type { JobPrefixes } from './job-access.js';

export function suppressJobNag(
  job: Construct,
  prefixes: JobPrefixes,
  stateMachine: { role: iam.Role; mapPolicy: iam.Policy },
) {
  // Only "<bucket ARN>/<one of this job's prefixes>*": the bucket's ARN as cdk-nag renders it (a
  // `<Logical.Arn>` reference, or a literal S3 ARN of an imported bucket), then an exact prefix.
  const reEscape = (p: string) => p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const alternatives = [prefixes.input, prefixes.output, prefixes.scratch].map(reEscape).join('|');
  NagSuppressions.addResourceSuppressions(
    job,
    [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'Object ARNs end in "<prefix>*": a job reads and writes objects it names at run time (splits, parts, indexes) under its own prefixes, never the whole bucket.',
        appliesTo: [
          {
            regex: `/^Resource::(<[^>]+\\.Arn>|arn:(<AWS::Partition>|aws[-a-z]*):s3:::[^/]+)\\/(${alternatives})\\*$/g`,
          },
        ],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          "Added by CDK for the functions' X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords), APIs that take no resource-level permissions.",
        appliesTo: ['Resource::*'],
      },
    ],
    true,
  );
  NagSuppressions.addResourceSuppressions(
    [stateMachine.mapPolicy, stateMachine.role],
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
  // CDK's own provider that turns on the bucket's EventBridge notifications (one per stack).
  const stack = Stack.of(job);
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
