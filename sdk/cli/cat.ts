/** `streaming cat <output>`: a completed job's records, parts in order. */
import { StorageRouter } from '../../functions/storage/index.js';
import { readResults } from '../client.js';
import { cloudTarget, completedManifest } from './cloud.js';
import { type Command, parseCommand } from './command.js';

export const catCommand: Command = {
  name: 'cat',
  synopsis: '<output>',
  description: "Prints a completed job's records (parts in order), local or on S3.",
  options: ['endpoint', 'help'],
  async run(argv) {
    const parsed = parseCommand(this, argv);
    if (!parsed) return 0;
    const target = cloudTarget(this.name, this.synopsis, parsed.values, parsed.positionals);
    const storage = new StorageRouter();
    const { manifest } = await completedManifest(storage, target);
    const text = (x: unknown) => (typeof x === 'string' ? x : JSON.stringify(x));
    for await (const r of readResults(storage, manifest)) {
      if (!process.stdout.write(`${text(r.key)}\t${text(r.value)}\n`))
        await new Promise((res) => process.stdout.once('drain', res));
    }
    return 0;
  },
};
