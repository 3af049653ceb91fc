/**
 * How a deployed job is found by name: each StreamingJob publishes an SSM parameter
 * `/streaming/jobs/<name>` holding where it lives. One GetParameter; no CloudFormation reads.
 */
import type { SSMClient } from '@aws-sdk/client-ssm';
import { StreamingError } from '../../functions/errors.js';
import { registryParameter } from '../../functions/spec.js';

export interface DeployedJob {
  name: string;
  stateMachineArn: string;
  bucket: string;
  inputPrefix: string;
  outputPrefix: string;
  /** `s3://bucket/scratch/` */
  scratch: string;
}

export class UnknownJobError extends StreamingError {
  static override readonly retryable = false;
}

export type JobRegistry = (name: string) => Promise<DeployedJob>;

export function ssmRegistry(given?: SSMClient): JobRegistry {
  return async (name) => {
    // Loaded on first use: local runs import the SDK, and the AWS clients would cost every worker start-up time.
    const { GetParameterCommand, SSMClient } = await import('@aws-sdk/client-ssm');
    const client = given ?? new SSMClient({});
    try {
      const res = await client.send(new GetParameterCommand({ Name: registryParameter(name) }));
      return JSON.parse(res.Parameter!.Value!) as DeployedJob;
    } catch (e) {
      if ((e as { name?: string }).name === 'ParameterNotFound')
        throw new UnknownJobError(
          `No deployed job named "${name}" (SSM parameter ${registryParameter(name)} not found). Deploy it with StreamingJob, or pass stateMachineArn.`,
        );
      throw e;
    }
  };
}
