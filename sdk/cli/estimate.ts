/** `streaming estimate`: what a cloud job will cost, before it runs. */
import { type EstimateOptions, estimateCost, formatEstimate } from '../estimate.js';
import { type Command, parseCommand } from './command.js';
import { UsageError } from './options.js';

export const estimateCommand: Command = {
  name: 'estimate',
  synopsis: '--input-size <size> [options]',
  description: "Estimates a cloud job's cost: S3 requests, Lambda GB-seconds, Step Functions transitions, dollars.",
  options: ['input-size', 'split-size', 'reducers', 'memory', 'objects', 'shuffle-ratio', 'json', 'help'],
  async run(argv) {
    const parsed = parseCommand(this, argv);
    if (!parsed) return 0;
    const { values } = parsed;
    const inputBytes = values['input-size'];
    if (inputBytes === undefined) throw new UsageError('give --input-size, e.g. --input-size 100GB');
    const options: EstimateOptions = { inputBytes };
    if (values['split-size'] !== undefined) options.splitSize = values['split-size'];
    if (values.reducers !== undefined) options.reducers = values.reducers;
    if (values.memory !== undefined) options.memoryMiB = values.memory;
    if (values.objects !== undefined) options.objects = values.objects;
    if (values['shuffle-ratio'] !== undefined) options.shuffleRatio = values['shuffle-ratio'];
    const e = estimateCost(options);
    process.stdout.write(values.json ? `${JSON.stringify(e, null, 2)}\n` : `${formatEstimate(e, options)}\n`);
    return 0;
  },
};
