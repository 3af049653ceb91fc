import path from 'node:path';
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { packageRoot, StreamingJob } from './streaming-job.js';

/**
 * The demo: word count on its own bucket. Every object uploaded under `input/` starts a run that
 * writes to `output/<its key>/` (deploy, then upload a file); runs over whole prefixes start with
 * `startJob()`, `streaming start` or the state machine.
 */
export class StreamingDemoStack extends Stack {
  readonly wordCount: StreamingJob;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.wordCount = new StreamingJob(this, 'WordCount', {
      job: path.join(packageRoot(), 'jobs', 'wordcount.ts'),
      onUpload: { prefix: 'input/', outputPrefix: 'output/' },
    });
    new CfnOutput(this, 'StateMachineArn', { value: this.wordCount.stateMachine.stateMachineArn });
    new CfnOutput(this, 'BucketName', { value: this.wordCount.bucket.bucketName });
  }
}
