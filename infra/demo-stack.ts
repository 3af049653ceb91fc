import path from 'node:path';
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { packageRoot, StreamingJob } from './streaming-job.js';

/** The demo: word count on its own bucket. Upload to s3://<bucket>/input/ and start the state machine. */
export class StreamingDemoStack extends Stack {
  readonly wordCount: StreamingJob;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.wordCount = new StreamingJob(this, 'WordCount', { job: path.join(packageRoot(), 'jobs', 'wordcount.ts') });
    new CfnOutput(this, 'StateMachineArn', { value: this.wordCount.stateMachine.stateMachineArn });
    new CfnOutput(this, 'BucketName', { value: this.wordCount.bucket.bucketName });
  }
}
