/** `streaming status <execution-arn>`: a cloud run's state, phase and task progress. */
import { attachJob } from '../client.js';
import { cloudTarget, progressLine } from './cloud.js';
import { type Command, parseCommand } from './command.js';

export const statusCommand: Command = {
  name: 'status',
  synopsis: '<execution-arn>',
  description: "Prints a cloud run's state, phase and task progress; exits 1 if it failed.",
  options: ['endpoint', 'help'],
  async run(argv) {
    const parsed = parseCommand(this, argv);
    if (!parsed) return 0;
    const target = cloudTarget(this.name, this.synopsis, parsed.values, parsed.positionals);
    const s = await (await attachJob(target)).status();
    process.stdout.write(`${progressLine(s)}\n`);
    return s.state === 'FAILED' || s.state === 'TIMED_OUT' ? 1 : 0;
  },
};
