/**
 * `streaming/cdk`: the StreamingJob construct. aws-cdk-lib, constructs and cdk-nag are optional
 * peer dependencies (running jobs locally or starting deployed ones needs none of their ~190 MB),
 * so this entry first checks that they are installed and names the missing ones, instead of
 * Node's "Cannot find package" about whichever it meets first. The construct is loaded only
 * then, hence the dynamic import; its types come from streaming-job.d.ts (package.json
 * `exports`), and test/package.test.ts checks that both export the same names.
 */
import { StreamingError } from '../functions/errors.js';

const CDK_PEERS = ['aws-cdk-lib', 'constructs', 'cdk-nag'];

const missing = CDK_PEERS.filter((name) => {
  try {
    import.meta.resolve(name);
    return false;
  } catch {
    return true;
  }
});
if (missing.length > 0)
  throw new StreamingError(
    `streaming/cdk needs ${missing.join(', ')}, which are optional peer dependencies of streaming (only deploying needs them): ` +
      `npm install ${CDK_PEERS.join(' ')}`,
  );

export const { StreamingJob, streamingJobProblems, jobPrefixes, packageRoot } = await import('./streaming-job.js');
