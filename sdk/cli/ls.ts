/** `streaming ls <output>`: the parts of a job's output and whether it completed. */
import { StorageRouter } from '../../functions/storage/index.js';
import { cloudTarget, completedManifest } from './cloud.js';
import { type Command, parseCommand } from './command.js';

export const lsCommand: Command = {
  name: 'ls',
  synopsis: '<output>',
  description: "Lists the parts of a completed job's output (bytes, records, URI), local or on S3.",
  options: ['endpoint', 'help'],
  async run(argv) {
    const parsed = parseCommand(this, argv);
    if (!parsed) return 0;
    const target = cloudTarget(this.name, this.synopsis, parsed.values, parsed.positionals);
    const { manifest } = await completedManifest(new StorageRouter(), target);
    for (const p of manifest.parts)
      process.stdout.write(`${String(p.bytes).padStart(12)}  ${String(p.records).padStart(10)}  ${p.uri}\n`);
    process.stdout.write(
      `job ${manifest.jobId} (${manifest.job}) completed: ${manifest.parts.length} parts, ${manifest.records} records\n`,
    );
    return 0;
  },
};
