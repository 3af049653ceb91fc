/** `streaming wait <execution-arn>`: follows a cloud run until it ends. */
import { attachJob } from '../client.js';
import { cloudTarget, follow } from './cloud.js';
import { type Command, parseCommand } from './command.js';

export const waitCommand: Command = {
  name: 'wait',
  synopsis: '<execution-arn>',
  description: 'Follows a cloud run until it ends (progress on stderr).',
  options: ['endpoint', 'quiet', 'help'],
  async run(argv) {
    const parsed = parseCommand(this, argv);
    if (!parsed) return 0;
    const target = cloudTarget(this.name, this.synopsis, parsed.values, parsed.positionals);
    const m = await follow(await attachJob(target), parsed.values.quiet ?? false);
    process.stdout.write(`succeeded: ${m.parts.length} parts, ${m.records} records in ${m.output}\n`);
    return 0;
  },
};
