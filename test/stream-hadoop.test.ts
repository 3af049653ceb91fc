/**
 * Stream programs at parity with Hadoop Streaming: the tutorial's Python word count and the
 * max-temperature secondary sort against independent computations at several reducer counts
 * and split sizes; job properties; the typed equivalents for TypeScript jobs; counters,
 * status and stderr; environment, params and input-file variables; programs and files found
 * beside the job file. Python 3 (standard library only) runs the programs.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { expect, it } from '@jest/globals';
import { StorageRouter } from '../functions/storage/index.js';
import { type LocalRunOptions, readResults, runLocal } from '../sdk/index.js';
import { describeWithPython3, MOBY, outputLines, partFiles, ROOT, sortedEntries, tempDir } from './helpers.js';

const EXAMPLES = path.join(ROOT, 'examples');
const WORDCOUNT = path.join(EXAMPLES, 'wordcount-python', 'wordcount.ts');
const MAX_TEMPERATURE = path.join(EXAMPLES, 'max-temperature', 'max-temperature.ts');
const CLI = path.join(ROOT, 'dist', 'sdk', 'cli.js');

/** Writes a job module into `dir`: `fields` as JSON, `code` as TypeScript properties (functions). */
function writeJob(dir: string, name: string, fields: Record<string, unknown>, code = ''): string {
  const file = path.join(dir, `${name}.ts`);
  const json = JSON.stringify({ name, ...fields });
  fs.writeFileSync(
    file,
    `import { defineJob } from 'streaming';\nexport default defineJob({ ...${json}, ${code} } as never);\n`,
  );
  return file;
}

/** The word count of the tutorial's mapper (`line.strip().split()`), computed here. */
function pythonSplitCounts(file: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n'))
    for (const w of line.trim().split(/\s+/)) if (w !== '') m.set(w, (m.get(w) ?? 0) + 1);
  return m;
}

/** `key<TAB>value` lines of every part into a map (values as numbers). */
function tsvCounts(dir: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of outputLines(dir)) {
    const [k, v] = line.split('\t');
    expect(m.has(k!)).toBe(false); // a key is in one part, once
    m.set(k!, Number(v));
  }
  return m;
}

/** Weather records in the examples' CSV format: years 1901-1930, temperatures with and without decimals. */
function weatherCsv(file: string, rows: number): { year: string; temp: string }[] {
  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const out: { year: string; temp: string }[] = [];
  const lines = ['location,date,precipitation,temp_max,temp_min,wind,weather'];
  for (let i = 0; i < rows; i++) {
    const year = String(1901 + Math.floor(random() * 30));
    const t = Math.round((random() * 85 - 40) * 10) / 10;
    // Integers without a decimal point, negatives, and -0.0 too: numeric order must hold for each.
    const temp = i % 7 === 0 ? String(Math.round(t)) : i % 101 === 0 ? '-0.0' : t.toFixed(1);
    out.push({ year, temp });
    lines.push(`Station${i % 5},${year}-0${1 + (i % 9)}-1${i % 10},0.0,${temp},0,1.0,sun`);
  }
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return out;
}

describeWithPython3('the Hadoop Streaming tutorial word count (Python)', () => {
  const input = path.join(MOBY, 'data.txt');
  const expected = pythonSplitCounts(input);
  const lines = fs.readFileSync(input, 'utf8').replace(/\n$/, '').split('\n').length;

  it.each([
    { reducers: 1, splitSize: 4 << 20, sortBufferBytes: 64 << 20 },
    { reducers: 3, splitSize: 300_000, sortBufferBytes: 64 << 20 },
    { reducers: 7, splitSize: 128 * 1024, sortBufferBytes: 1 << 20 },
  ])(
    'gives the counts computed here with $reducers reducers, split $splitSize, sort buffer $sortBufferBytes',
    async (o) => {
      const out = path.join(tempDir(), 'out');
      const { manifest } = await runLocal(WORDCOUNT, { input, output: out, workers: 2, ...o });
      expect(manifest.reduce.tasks).toBe(o.reducers);
      expect(sortedEntries(tsvCounts(out))).toEqual(sortedEntries(expected));
      // The combiner ran map-side: fewer records shuffled than the mapper printed.
      expect(manifest.map.shuffleRecords).toBeLessThan(manifest.map.outputRecords);
      // Each map task reported its lines and words once, on stderr; summed over the tasks.
      expect(manifest.counterGroups.Wordcount).toEqual({
        lines,
        words: [...expected.values()].reduce((a, b) => a + b, 0),
      });
    },
  );
});

describeWithPython3(
  'max temperature with a secondary sort (KeyFieldBasedPartitioner and KeyFieldBasedComparator)',
  () => {
    const dir = tempDir();
    const input = path.join(dir, 'weather.csv');
    const records = weatherCsv(input, 20_000);
    const max = new Map<string, number>();
    for (const r of records) max.set(r.year, Math.max(max.get(r.year) ?? Number.NEGATIVE_INFINITY, Number(r.temp)));

    it.each([
      { reducers: 1, splitSize: 1 << 20 },
      { reducers: 3, splitSize: 64 * 1024 },
      { reducers: 8, splitSize: 100_000 },
    ])('finds each year’s maximum as the first line of its group: $reducers reducers, split $splitSize', async (o) => {
      const out = path.join(tempDir(), 'out');
      const { manifest } = await runLocal(MAX_TEMPERATURE, { input, output: out, workers: 2, ...o });
      expect(manifest.parts).toHaveLength(o.reducers);
      const found = new Map(outputLines(out).map((l) => [l.split('\t')[0]!, Number(l.split('\t')[1])]));
      expect(sortedEntries(found)).toEqual(sortedEntries(max));
      expect(manifest.counterGroups.MaxTemperature).toEqual({ skipped: 1 }); // the header line
    });

    it.each([2, 5])(
      'partitions on the year and sorts on year, then temperature descending (%i reducers, -D)',
      async (reducers) => {
        // The same programs with `cat` as the reducer: what the reducer reads, in full.
        const jobDir = tempDir();
        const job = writeJob(jobDir, 'sorted', {
          mapper: `python3 ${path.join(EXAMPLES, 'max-temperature', 'max_temperature_map.py')}`,
          reducer: 'cat',
        });
        const out = path.join(jobDir, 'out');
        await runLocal(job, {
          input,
          output: out,
          workers: 2,
          splitSize: 50_000,
          reducers,
          // What a Hadoop Streaming command line gives with -D.
          jobconf: {
            'stream.num.map.output.key.fields': '2',
            'mapreduce.partition.keypartitioner.options': '-k1,1',
            'mapreduce.partition.keycomparator.options': '-k1,1 -k2,2nr',
            'mapreduce.job.output.key.comparator.class':
              'org.apache.hadoop.mapreduce.lib.partition.KeyFieldBasedComparator',
          },
        });
        const partOfYear = new Map<string, string>();
        let total = 0;
        for (const part of partFiles(out)) {
          // The reducer read `year<TAB>temp<TAB>` (key of two fields, empty value) and printed it back.
          const rows = fs
            .readFileSync(part, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => l.split('\t'));
          total += rows.length;
          for (let i = 0; i < rows.length; i++) {
            const [year, temp] = rows[i]!;
            expect(partOfYear.get(year!) ?? part).toBe(part);
            partOfYear.set(year!, part);
            if (i === 0) continue;
            const [py, pt] = rows[i - 1]!;
            expect(py! < year! || (py === year && Number(pt) >= Number(temp))).toBe(true);
          }
        }
        expect(total).toBe(records.length);
        expect(partOfYear.size).toBe(max.size);
      },
    );

    it('a TypeScript job gets the same with compareValues (values in descending order) and partitionBy/compareKeys', async () => {
      const jobDir = tempDir();
      const job = writeJob(
        jobDir,
        'typed',
        { reducers: 3 },
        `map(line: string, emit: (k: unknown, v: number) => void) {
        const f = line.split(',');
        if (f[0] === 'location') return;
        emit([Number(f[1]!.slice(0, 4)), Number(f[1]!.slice(5, 7))], Number(f[3]));
      },
      partitionBy: (key: [number, number]) => key[0],
      compareKeys: (a: [number, number], b: [number, number]) => a[0] - b[0] || b[1] - a[1],
      compareValues: (a: number, b: number) => b - a,
      reduce(key: [number, number], temps: Iterable<number>, emit: (k: unknown, v: unknown) => void) {
        emit(key, [...temps]);
      },`,
      );
      const out = path.join(jobDir, 'out');
      const { manifest } = await runLocal(job, { input, output: out, workers: 2, splitSize: 64 * 1024 });
      const byMonth = new Map<string, number[]>();
      records.forEach((r, i) => {
        // weatherCsv writes month 1 + i % 9.
        const k = JSON.stringify([Number(r.year), 1 + (i % 9)]);
        const list = byMonth.get(k) ?? [];
        list.push(Number(r.temp));
        byMonth.set(k, list);
      });
      const years = new Map<number, number>();
      for (const [i, part] of manifest.parts.entries()) {
        let previous: [number, number] | undefined;
        for await (const rec of readResults(new StorageRouter(), { ...manifest, parts: [part] })) {
          const key = JSON.parse(rec.key as string) as [number, number];
          const temps = JSON.parse(rec.value as string) as number[];
          // Values in the order compareValues asks, every one of the group's.
          // (-0.0 in the input is emitted as a number: JSON makes it 0.)
          expect(temps).toEqual(
            byMonth
              .get(JSON.stringify(key))!
              .map((t) => t + 0)
              .sort((a, b) => b - a),
          );
          // A year in one part; keys by year, then month descending.
          expect(years.get(key[0]) ?? i).toBe(i);
          years.set(key[0], i);
          if (previous) expect(previous[0] < key[0] || (previous[0] === key[0] && previous[1] > key[1])).toBe(true);
          previous = key;
        }
      }
      expect(years.size).toBe(max.size);
    });
  },
);

describeWithPython3('what programs report and see', () => {
  it('sums counters from stderr over tasks and attempts exactly once: a failed attempt’s counters are not counted', async () => {
    const dir = tempDir();
    const lines = Array.from({ length: 3000 }, (_, i) => `line ${i}`);
    fs.writeFileSync(path.join(dir, 'in.txt'), `${lines.join('\n')}\n`);
    fs.writeFileSync(
      path.join(dir, 'count.py'),
      [
        'import os, sys',
        'n = 0',
        'for line in sys.stdin:',
        '    n += 1',
        '    print(line.split()[1] + "\\tx")',
        'sys.stderr.write(f"reporter:counter:Lines,read,{n}\\n")',
        'sys.stderr.write("reporter:status:read " + str(n) + "\\n")',
        'sys.stderr.write("a plain stderr line\\n")',
        '# The first attempt of map task 1 fails after reporting: its counts must not be summed.',
        'marker = os.environ["MARKER"]',
        'if os.environ["mapreduce_task_partition"] == "1" and not os.path.exists(marker):',
        '    open(marker, "w").close()',
        '    sys.exit(3)',
      ].join('\n'),
    );
    fs.writeFileSync(
      path.join(dir, 'sum.py'),
      'import sys\nn = sum(1 for _ in sys.stdin)\nprint(f"records\\t{n}")\nsys.stderr.write(f"reporter:counter:Lines,reduced,{n}\\n")\n',
    );
    const job = writeJob(dir, 'counting', { mapper: 'python3 count.py', reducer: 'python3 sum.py', reducers: 2 });
    const { manifest } = await runLocal(job, {
      input: path.join(dir, 'in.txt'),
      output: path.join(dir, 'out'),
      workers: 2,
      splitSize: 8 * 1024,
      cmdenv: { MARKER: path.join(dir, 'failed-once') },
    });
    expect(manifest.map.tasks).toBeGreaterThan(2);
    expect(manifest.failedAttempts).toEqual([
      expect.objectContaining({
        phase: 'map',
        task: 1,
        error: expect.objectContaining({ name: 'StreamProgramError' }),
      }),
    ]);
    expect(manifest.counterGroups).toEqual({ Lines: { read: 3000, reduced: 3000 } });
    const map0 = manifest.tasks.find((t) => t.phase === 'map' && t.task === 0)!;
    expect(map0.status).toMatch(/^read \d+$/);
    expect(map0.stderr).toEqual(['a plain stderr line']);
    expect(fs.readFileSync(map0.log!, 'utf8')).toBe('a plain stderr line\n');
  });

  it('sets Hadoop’s task variables, the job properties, env, --cmdenv and params for each input file', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'a.txt'), 'one\ntwo\n');
    fs.writeFileSync(path.join(dir, 'b.txt'), 'three\n');
    const vars = [
      'mapreduce_map_input_file',
      'map_input_file',
      'mapreduce_map_input_start',
      'mapreduce_task_partition',
      'mapred_task_partition',
      'mapreduce_task_ismap',
      'mapreduce_job_reduces',
      'mapreduce_task_timeout',
      'STREAMING_PARAM_greeting',
      'FROM_JOB',
      'FROM_CALL',
    ];
    fs.writeFileSync(
      path.join(dir, 'env.py'),
      `import os, sys\nn = sum(1 for _ in sys.stdin)\nprint("\\t".join([os.environ.get(k, "-") for k in ${JSON.stringify(vars)}] + [str(n)]))\n`,
    );
    const job = writeJob(dir, 'env', {
      mapper: 'python3 env.py',
      reducers: 0,
      env: { FROM_JOB: 'job', FROM_CALL: 'job' },
    });
    const out = path.join(dir, 'out');
    await runLocal(job, {
      input: [path.join(dir, 'a.txt'), path.join(dir, 'b.txt')],
      output: out,
      workers: 1,
      params: { greeting: 'hello' },
      cmdenv: { FROM_CALL: 'call' },
      jobconf: { 'mapreduce.task.timeout': '120000' },
    });
    // Both small files in one split: the program runs once per file, each run with its own file.
    const uri = (f: string) => `file://${path.join(dir, f)}`;
    expect(outputLines(out)).toEqual([
      [uri('a.txt'), uri('a.txt'), '0', '0', '0', 'true', '0', '120000', 'hello', 'job', 'call', '2'].join('\t'),
      [uri('b.txt'), uri('b.txt'), '0', '0', '0', 'true', '0', '120000', 'hello', 'job', 'call', '1'].join('\t'),
    ]);
  });

  it('leaves PYTHONUNBUFFERED out of what programs inherit, unless the job sets it', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'in.txt'), 'x\n');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, not a template
    const mapper = 'cat >/dev/null; echo "${PYTHONUNBUFFERED:-unset}"';
    const before = process.env.PYTHONUNBUFFERED;
    process.env.PYTHONUNBUFFERED = '1';
    try {
      const seen = async (name: string, cmdenv?: Record<string, string>) => {
        const out = path.join(dir, name);
        await runLocal(writeJob(dir, name, { mapper, reducers: 0 }), {
          input: path.join(dir, 'in.txt'),
          output: out,
          workers: 1,
          ...(cmdenv ? { cmdenv } : {}),
        });
        return outputLines(out);
      };
      // A line without a tab is all key, written with an empty value.
      expect(await seen('inherited')).toEqual(['unset\t']);
      expect(await seen('asked', { PYTHONUNBUFFERED: '1' })).toEqual(['1\t']);
    } finally {
      if (before === undefined) delete process.env.PYTHONUNBUFFERED;
      else process.env.PYTHONUNBUFFERED = before;
    }
  });

  it('finds programs beside the job file and ships files, whatever directory the CLI runs in', () => {
    const jobDir = tempDir();
    const elsewhere = tempDir();
    fs.mkdirSync(path.join(jobDir, 'data'));
    fs.writeFileSync(path.join(jobDir, 'data', 'stop.txt'), 'the\na\n');
    fs.writeFileSync(path.join(elsewhere, 'extra.txt'), 'cat\n');
    fs.writeFileSync(path.join(elsewhere, 'in.txt'), 'the cat sat on a mat\n');
    fs.writeFileSync(
      path.join(jobDir, 'filter.py'),
      'import sys\nstop = set(open("stopwords").read().split()) | set(open("extra.txt").read().split())\nfor line in sys.stdin:\n    for w in line.split():\n        if w not in stop:\n            print(w)\n',
    );
    writeJob(jobDir, 'filter', { mapper: 'python3 filter.py', reducers: 0, files: ['data/stop.txt#stopwords'] });
    const r = spawnSync(
      process.execPath,
      [
        CLI,
        'run',
        path.join(jobDir, 'filter.ts'),
        '-input',
        'in.txt',
        '-output',
        'out',
        '-files',
        'extra.txt',
        '--quiet',
      ],
      { cwd: elsewhere, encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fs.readFileSync(path.join(elsewhere, 'out', 'part-m-00000'), 'utf8')).toBe('sat\t\non\t\nmat\t\n');
  });
});

describeWithPython3('job properties', () => {
  it('splits program output on stream.map.output.field.separator and stream.num.map.output.key.fields', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'in.txt'), 'b.x.1\na.y.2\na.x.3\n');
    const job = writeJob(dir, 'fields', { mapper: 'cat', reducer: 'cat', reducers: 1 });
    const out = path.join(dir, 'out');
    await runLocal(job, {
      input: path.join(dir, 'in.txt'),
      output: out,
      workers: 1,
      jobconf: { 'stream.map.output.field.separator': '.', 'stream.num.map.output.key.fields': '2' },
    });
    // Key = two fields, sorted; the reducer reads key<TAB>value and prints it back.
    expect(outputLines(out)).toEqual(['a.x\t3', 'a.y\t2', 'b.x\t1']);
  });

  it('stream.map.input.ignoreKey=false feeds the mapper each line’s byte offset', async () => {
    const dir = tempDir();
    const text = 'first\nsécond line\nthird\n';
    fs.writeFileSync(path.join(dir, 'in.txt'), text);
    const job = writeJob(dir, 'offsets', { mapper: 'cat', reducers: 0 });
    const out = path.join(dir, 'out');
    await runLocal(job, {
      input: path.join(dir, 'in.txt'),
      output: out,
      jobconf: { 'stream.map.input.ignoreKey': 'false' },
    });
    const offsets = outputLines(out).map((l) => Number(l.split('\t')[0]));
    expect(offsets).toEqual([0, 6, 6 + Buffer.byteLength('sécond line\n')]);
  });

  it('gzips the output parts with mapreduce.output.fileoutputformat.compress, and reads them back', async () => {
    const dir = tempDir();
    const input = path.join(MOBY, 'chapter_1.txt');
    const plain = path.join(dir, 'plain');
    const gz = path.join(dir, 'gz');
    await runLocal(WORDCOUNT, { input, output: plain, reducers: 2, workers: 2 });
    const { manifest } = await runLocal(WORDCOUNT, {
      input,
      output: gz,
      reducers: 2,
      workers: 2,
      jobconf: {
        'mapreduce.output.fileoutputformat.compress': 'true',
        'mapreduce.output.fileoutputformat.compress.codec': 'org.apache.hadoop.io.compress.GzipCodec',
      },
    });
    expect(fs.readdirSync(gz).sort()).toEqual(['_SUCCESS', '_manifest.json', 'part-r-00000.gz', 'part-r-00001.gz']);
    for (const p of ['part-r-00000', 'part-r-00001'])
      expect(gunzipSync(fs.readFileSync(path.join(gz, `${p}.gz`))).toString()).toBe(
        fs.readFileSync(path.join(plain, p), 'utf8'),
      );
    const records: unknown[] = [];
    for await (const r of readResults(new StorageRouter(), manifest)) records.push(r);
    expect(records).toHaveLength(manifest.records);
  });

  it('warns once for a property it knowingly ignores; an unknown one fails the job, naming it', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'in.txt'), 'x\n');
    const job = writeJob(dir, 'props', { mapper: 'cat', reducers: 0 });
    const warnings: string[] = [];
    const base: LocalRunOptions = { input: path.join(dir, 'in.txt'), output: path.join(dir, 'out'), workers: 1 };
    await runLocal(job, {
      ...base,
      jobconf: { 'mapreduce.map.java.opts': '-Xmx2g' },
      onWarning: (w) => warnings.push(w),
    });
    expect(warnings).toEqual(['job property mapreduce.map.java.opts is ignored: there is no JVM']);
    await expect(
      runLocal(job, { ...base, overwrite: true, jobconf: { 'mapreduce.job.reduse': '2' } }),
    ).rejects.toMatchObject({
      errorType: 'InvalidJobError',
      message: expect.stringMatching(
        /unknown job property mapreduce\.job\.reduse \(did you mean mapreduce\.job\.reduces\?\)/,
      ),
    });
  });
});

describeWithPython3('protocols, hooks and reducers', () => {
  it('the jsonl protocol keeps the types programs print', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'in.txt'), 'a b a\nb a\n');
    fs.writeFileSync(
      path.join(dir, 'map.py'),
      'import json, sys\nfor line in sys.stdin:\n    for w in line.split():\n        print(json.dumps({"key": w, "value": 1}))\n',
    );
    fs.writeFileSync(
      path.join(dir, 'reduce.py'),
      'import json, sys\nfrom itertools import groupby\nrecs = (json.loads(l) for l in sys.stdin)\nfor k, g in groupby(recs, key=lambda r: r["key"]):\n    print(json.dumps({"key": k, "value": {"count": sum(r["value"] for r in g)}}))\n',
    );
    const job = writeJob(dir, 'typed-wc', {
      mapper: 'python3 map.py',
      reducer: 'python3 reduce.py',
      protocol: 'jsonl',
      reducers: 1,
      output: { format: 'jsonl' },
    });
    const { manifest } = await runLocal(job, { input: path.join(dir, 'in.txt'), output: path.join(dir, 'out') });
    const records: unknown[] = [];
    for await (const r of readResults(new StorageRouter(), manifest)) records.push(r);
    expect(records).toEqual([
      { key: 'a', value: { count: 3 } },
      { key: 'b', value: { count: 2 } },
    ]);
  });

  it('runs the identity reducer for reducers without a reducer: map output partitioned and sorted', async () => {
    const dir = tempDir();
    const words = ['pear', 'apple', 'fig', 'kiwi', 'apple', 'date', 'cherry', 'banana'];
    fs.writeFileSync(path.join(dir, 'in.txt'), `${words.join('\n')}\n`);
    const job = writeJob(dir, 'identity', { mapper: 'cat', reducers: 2 });
    const out = path.join(dir, 'out');
    const { manifest } = await runLocal(job, { input: path.join(dir, 'in.txt'), output: out, workers: 1 });
    expect(manifest.reduce.tasks).toBe(2);
    const parts = partFiles(out).map((f) => fs.readFileSync(f, 'utf8').split('\n').filter(Boolean));
    for (const p of parts) expect(p).toEqual([...p].sort());
    expect(parts.flat().sort()).toEqual(words.map((w) => `${w}\t`).sort());
  });

  it('setup and cleanup run once per task (mrjob’s mapper_init / mapper_final) and ctx.status reaches the manifest', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'in.txt'), `${Array.from({ length: 500 }, (_, i) => `l${i}`).join('\n')}\n`);
    const job = writeJob(
      dir,
      'hooks',
      { reducers: 1 },
      `setup(ctx: { task: { phase: string } }) { (globalThis as any).lines = 0; (globalThis as any).phase = ctx.task.phase; },
      map(_line: string) { (globalThis as any).lines++; },
      cleanup(ctx: { status(m: string): void; task: { phase: string } }, emit: (k: string, v: number) => void) {
        if (ctx.task.phase === 'map') emit('lines', (globalThis as any).lines);
        ctx.status(\`\${ctx.task.phase} done: \${(globalThis as any).lines}\`);
      },
      reduce(k: string, vs: Iterable<number>, emit: (k: string, v: number) => void) {
        let n = 0; for (const v of vs) n += v; emit(k, n);
      },`,
    );
    const out = path.join(dir, 'out');
    const { manifest } = await runLocal(job, {
      input: path.join(dir, 'in.txt'),
      output: out,
      splitSize: 1000,
      workers: 2,
    });
    expect(manifest.map.tasks).toBeGreaterThan(1);
    expect(outputLines(out)).toEqual(['lines\t500']);
    for (const t of manifest.tasks.filter((x) => x.phase === 'map')) expect(t.status).toMatch(/^map done: \d+$/);
    expect(manifest.tasks.find((x) => x.phase === 'reduce')!.status).toBe('reduce done: 0');
  });
});
