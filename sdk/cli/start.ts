/** `streaming start <job-name>`: starts a run of a deployed job. */
import { startJob } from '../client.js';
import { cloudTarget, follow } from './cloud.js';
import { type Command, parseCommand } from './command.js';
import { UsageError } from './options.js';

export const startCommand: Command = {
  name: 'start',
  synopsis: '<job-name> --input <s3://…>... --output <s3://…> [options]',
  description: 'Starts a run of a deployed StreamingJob; prints its execution ARN.',
  options: [
    'input',
    'output',
    'reducers',
    'split-size',
    'param',
    'jobconf',
    'cmdenv',
    'overwrite',
    'step',
    'strict-utf8',
    'wait',
    'endpoint',
    'quiet',
    'help',
  ],
  async run(argv) {
    const parsed = parseCommand(this, argv);
    if (!parsed) return 0;
    const { values, positionals } = parsed;
    const target = cloudTarget(this.name, this.synopsis, values, positionals);
    if (!values.input?.length || !values.output)
      throw new UsageError('start needs --input <s3://…> and --output <s3://…>');
    const job = await startJob({
      job: target,
      input: values.input,
      output: values.output,
      params: values.param ?? {},
      ...(values.reducers !== undefined ? { reducers: values.reducers } : {}),
      ...(values['split-size'] !== undefined ? { splitSize: values['split-size'] } : {}),
      ...(values.overwrite ? { overwrite: true } : {}),
      ...(values.step !== undefined ? { step: values.step } : {}),
      ...(values['strict-utf8'] ? { strictUtf8: true } : {}),
      ...(values.jobconf ? { jobconf: values.jobconf } : {}),
      ...(values.cmdenv ? { cmdenv: values.cmdenv } : {}),
    });
    const quiet = values.quiet ?? false;
    process.stdout.write(`${job.executionArn}\n`);
    if (!quiet) process.stderr.write(`started job ${job.id}; follow it with: streaming wait ${job.executionArn}\n`);
    if (values.wait) await follow(job, quiet);
    return 0;
  },
};
