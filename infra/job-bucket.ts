import { Duration } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import type { JobPrefixes } from './job-access.js';

/**
 * The bucket a StreamingJob makes when it is given none: private, S3-managed encryption, SSL
 * only, access-logged, Object Created events to EventBridge (the upload trigger), scratch that
 * expires, and multipart uploads left incomplete (a task that died mid-write) removed under
 * scratch and output alike.
 */
export function createJobBucket(scope: Construct, prefixes: JobPrefixes, scratchExpiration: Duration): s3.Bucket {
  const common = {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
  };
  const accessLogs = new s3.Bucket(scope, 'AccessLogs', {
    ...common,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
  });
  NagSuppressions.addResourceSuppressions(accessLogs, [
    {
      id: 'AwsSolutions-S1',
      reason: "This bucket is the destination of the data bucket's access logs; logging it again would recurse.",
    },
  ]);
  return new s3.Bucket(scope, 'Bucket', {
    ...common,
    eventBridgeEnabled: true,
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: 'data-bucket/',
    lifecycleRules: [
      {
        id: 'expire-scratch',
        prefix: prefixes.scratch,
        expiration: scratchExpiration,
        abortIncompleteMultipartUploadAfter: Duration.days(1),
      },
      {
        // Parts a reducer (or map-only task) was streaming when it died; the output itself never expires.
        id: 'abort-incomplete-output-uploads',
        prefix: prefixes.output,
        abortIncompleteMultipartUploadAfter: Duration.days(1),
      },
    ],
  });
}
