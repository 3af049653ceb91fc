import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, jest } from '@jest/globals';
import { createHandlers, redact } from '../functions/handlers/lambda.js';
import type { AnyJob } from '../functions/job.js';
import { StorageRouter } from '../functions/storage/index.js';
import wordcount from '../jobs/wordcount.js';
import { tempDir } from './helpers.js';

describe('Lambda handlers', () => {
  it('log structured JSON with the job id, phase, task and attempt, and redact secret-looking params', async () => {
    process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
    const lines: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'in.txt'), 'a b a\n');
    try {
      const h = createHandlers(wordcount as AnyJob, new StorageRouter());
      const planned = (await h.plan(
        {
          input: [path.join(dir, 'in.txt')],
          output: path.join(dir, 'out'),
          reducers: 1,
          params: { apiToken: 'hunter2', lang: 'en' },
        },
        { awsRequestId: 'req-plan' },
      )) as { job: { jobId: string } };
      await expect(
        h.map({ job: planned.job, split: { index: 7, chunks: [], bytes: 0 } }, { awsRequestId: 'req-map' }),
      ).resolves.toEqual({ task: 7, records: 0 });
    } finally {
      spy.mockRestore();
    }
    const records = lines
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const planStart = records.find((r) => r.phase === 'plan' && r.message === 'task started')!;
    expect(planStart).toMatchObject({ level: 'INFO', service: 'streaming', jobName: 'wordcount', attempt: 'req-plan' });
    expect(JSON.stringify(planStart)).not.toContain('hunter2');
    expect((planStart.spec as { params: Record<string, string> }).params).toEqual({ apiToken: '***', lang: 'en' });
    const mapDone = records.find((r) => r.phase === 'map' && r.message === 'task finished')!;
    expect(mapDone).toMatchObject({ task: 7, attempt: 'req-map', jobId: expect.stringMatching(/^wordcount-/) });
  });

  it('reject an event that is not an object, and redact only secret-looking keys', async () => {
    const h = createHandlers(wordcount as AnyJob);
    await expect(h.map('nonsense', { awsRequestId: 'x' })).rejects.toThrow(/needs a JSON object event/);
    expect(redact({ params: { password: 'p', SECRET_KEY: 's', n: '1' } })).toEqual({
      params: { password: '***', SECRET_KEY: '***', n: '1' },
    });
  });
});
