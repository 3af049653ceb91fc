/** `streaming cancel <execution-arn>`: stops a cloud run. */
import { attachJob } from '../client.js';
import { cloudTarget } from './cloud.js';
import { type Command, parseCommand } from './command.js';

export const cancelCommand: Command = {
  name: 'cancel',
  synopsis: '<execution-arn>',
  description: 'Stops a cloud run: no _SUCCESS, scratch removed.',
  options: ['endpoint', 'help'],
  async run(argv) {
    const parsed = parseCommand(this, argv);
    if (!parsed) return 0;
    const target = cloudTarget(this.name, this.synopsis, parsed.values, parsed.positionals);
    const job = await attachJob(target);
    await job.cancel();
    process.stdout.write(`cancelled job ${job.id}; ${job.output} holds no result\n`);
    return 0;
  },
};
