/** `streaming report <output>`: a completed job's manifest drawn as one HTML page. */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { JobManifest } from '../../functions/phases/commit.js';
import { layout } from '../../functions/spec.js';
import { StorageRouter } from '../../functions/storage/index.js';
import { normalizeUri } from '../../functions/storage/uri.js';
import { renderReport } from '../report.js';
import { type Command, parseCommand } from './command.js';
import { UsageError } from './options.js';

export const reportCommand: Command = {
  name: 'report',
  synopsis: '<output> [--out <file.html>]',
  description:
    "Draws a completed job's _manifest.json as one self-contained HTML page: a timeline of every task by phase (stragglers marked), records and bytes per task, phase totals.",
  options: ['out', 'help'],
  async run(argv) {
    const parsed = parseCommand(this, argv);
    if (!parsed) return 0;
    const { values, positionals } = parsed;
    const [output] = positionals;
    if (!output) throw new UsageError('give the output location of a completed job: streaming report <output>');
    const uri = normalizeUri(output);
    const storage = new StorageRouter();
    if (!(await storage.for(uri).stat(layout.manifest(uri))))
      throw new UsageError(`${output} holds no _manifest.json: give the output location of a completed job.`);
    const manifest = await storage.readJson<JobManifest>(layout.manifest(uri));
    const file = values.out ?? `${manifest.jobId}.report.html`;
    await fs.writeFile(file, renderReport(manifest));
    process.stdout.write(`${path.resolve(file)}\n`);
    return 0;
  },
};
