/**
 * Hadoop's KeyFieldBasedComparator and KeyFieldBasedPartitioner, checked against Hadoop's own
 * test vectors (TestMRKeyFieldBasedComparator) and Java's String.hashCode, and the job
 * property table's refusals.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  compareKeyFields,
  keyFieldPartition,
  keyParts,
  numericalCompare,
  parseKeySpecs,
} from '../functions/format/key-fields.js';
import { jobConfProblems, mergeJobConf, resolveJobConf } from '../functions/jobconf.js';

const compare = (a: string, b: string, options: string, separator = ' ') => {
  const specs = parseKeySpecs(options);
  const sep = Buffer.from(separator);
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return Math.sign(compareKeyFields(ba, keyParts(ba, specs, sep), bb, keyParts(bb, specs, sep), specs));
};

describe('KeyFieldBasedComparator', () => {
  // Hadoop's TestMRKeyFieldBasedComparator: which of its two lines sorts first under each spec.
  const line1 = '123 -123 005120 123.9 0.01 0.18 010 10.0 4444.1 011 011 234';
  const line2 = '134 -12 005100 123.10 -1.01 0.19 02 10.1 4444';
  it.each([
    ['-k1,1n', 1],
    ['-k2,2n', 1],
    ['-k2.2,2n', 2],
    ['-k3.4,3n', 2],
    ['-k3.2,3.3n -k4,4n', 2],
    ['-k3.2,3.3n -k4,4nr', 1],
    ['-k2.4,2.4n', 2],
    ['-k7,7', 1],
    ['-k7,7n', 2],
    ['-k8,8n', 1],
    ['-k9,9', 2],
    ['-k11,11', 2],
    ['-k10,10', 2],
    ['-k9n', 2],
  ])('%s puts line %i first, as Hadoop does', (spec, first) => {
    expect(compare(line1, line2, spec as string)).toBe(first === 1 ? -1 : 1);
  });

  it('numeric order agrees with the numbers for any decimals, signs and leading zeros', () => {
    const decimal = fc
      .tuple(fc.boolean(), fc.nat(99999), fc.option(fc.nat(9999), { nil: undefined }), fc.nat(3))
      .map(([neg, int, frac, zeros]) => {
        const text = `${'0'.repeat(zeros)}${int}${frac === undefined ? '' : `.${String(frac).padStart(4, '0')}`}`;
        return { text: neg ? `-${text}` : text, value: (neg ? -1 : 1) * Number(text) };
      });
    fc.assert(
      fc.property(decimal, decimal, (a, b) => {
        const x = Buffer.from(a.text);
        const y = Buffer.from(b.text);
        expect(Math.sign(numericalCompare(x, 0, x.length - 1, y, 0, y.length - 1))).toBe(Math.sign(a.value - b.value));
      }),
    );
  });

  it('sorts year then temperature descending (secondary sort), tabs between fields', () => {
    const keys = ['1950\t22', '1949\t111', '1950\t-11', '1949\t78', '1950\t0', '1950\t9.5'];
    const sorted = [...keys].sort((a, b) => compare(a, b, '-k1,1 -k2,2nr', '\t'));
    expect(sorted).toEqual(['1949\t111', '1949\t78', '1950\t22', '1950\t9.5', '1950\t0', '1950\t-11']);
  });

  it('refuses options it cannot read, saying the form they take', () => {
    expect(() => parseKeySpecs('-k0,1')).toThrow(/count from 1/);
    expect(() => parseKeySpecs('-k1,1x')).toThrow(/not a key position.*-k pos1\[,pos2\]/);
    expect(() => parseKeySpecs('-t,')).toThrow(/unknown option "-t,"/);
  });
});

describe('KeyFieldBasedPartitioner', () => {
  /** Java's String.hashCode of an ASCII string, as Hadoop hashes a selected key field. */
  const javaHash = (s: string) => [...s].reduce((h, c) => (Math.imul(31, h) + c.charCodeAt(0)) | 0, 0);

  it('hashes the selected fields as Hadoop does, so a key lands in the same partition number', () => {
    const specs = parseKeySpecs('-k1,1');
    const sep = Buffer.from('\t');
    for (const [key, field] of [
      ['1950\t22', '1950'],
      ['alpha\tbeta', 'alpha'],
      ['x', 'x'],
    ] as const) {
      const bytes = Buffer.from(key);
      for (const reducers of [1, 2, 7, 100])
        expect(keyFieldPartition(bytes, keyParts(bytes, specs, sep), reducers)).toBe(
          (javaHash(field) & 0x7fffffff) % reducers,
        );
    }
    // 1516227 is "1950".hashCode() in Java.
    expect(javaHash('1950')).toBe(1516227);
  });

  it('puts every key with the same partition fields together, whatever the other fields', () => {
    const specs = parseKeySpecs('-k1,1');
    const sep = Buffer.from('\t');
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9]{1,8}$/), fc.string(), fc.string(), (year, a, b) => {
        const x = Buffer.from(`${year}\t${a.replace(/\t/g, '')}`);
        const y = Buffer.from(`${year}\t${b.replace(/\t/g, '')}`);
        expect(keyFieldPartition(x, keyParts(x, specs, sep), 13)).toBe(
          keyFieldPartition(y, keyParts(y, specs, sep), 13),
        );
      }),
    );
  });
});

describe('job properties', () => {
  it('names an unknown property and the nearest known one', () => {
    expect(jobConfProblems({ 'mapreduce.job.reduce': 3 })).toEqual([
      expect.stringMatching(/^unknown job property mapreduce\.job\.reduce \(did you mean mapreduce\.job\.reduces\?\)/),
    ]);
    expect(jobConfProblems({ 'stream.num.map.output.key.field': 2 })[0]).toMatch(
      /did you mean stream\.num\.map\.output\.key\.fields\?/,
    );
  });

  it('checks values: counts, booleans, key options and classes', () => {
    expect(
      jobConfProblems({
        'mapreduce.job.reduces': -1,
        'mapreduce.output.fileoutputformat.compress': 'yes',
        'mapreduce.partition.keycomparator.options': '-k1,1q',
        'mapreduce.output.fileoutputformat.compress.codec': 'org.apache.hadoop.io.compress.BZip2Codec',
      }),
    ).toEqual([
      'mapreduce.job.reduces must be a whole number >= 0',
      'mapreduce.output.fileoutputformat.compress must be true or false',
      expect.stringMatching(/^mapreduce\.partition\.keycomparator\.options: "-k1,1q" is not a key position/),
      expect.stringMatching(/BZip2Codec is not available here \(supported: .*GzipCodec\)/),
    ]);
  });

  it('reads Hadoop 1 names as their Hadoop 3 ones, and warns once per property it knowingly ignores', () => {
    const conf = mergeJobConf({ 'mapred.reduce.tasks': 3, 'mapred.text.key.comparator.options': '-k2,2n' });
    expect(conf).toEqual({
      'mapreduce.job.reduces': '3',
      'mapreduce.partition.keycomparator.options': '-k2,2n',
    });
    const settings = resolveJobConf(mergeJobConf({ 'mapreduce.map.memory.mb': 2048, 'mapreduce.job.name': 'x' }));
    expect(settings.warnings).toEqual([
      'job property mapreduce.map.memory.mb is ignored: memory is --worker-memory locally and memorySize in the cloud',
      'job property mapreduce.job.name is ignored: the job is named by its definition',
    ]);
  });

  it('unescapes separators as Hadoop command lines write them', () => {
    const s = resolveJobConf({
      'stream.map.output.field.separator': '\\t',
      'stream.reduce.output.field.separator': '\\u0001',
    });
    expect(s.stream.mapOutputSeparator).toBe('\t');
    expect(s.stream.reduceOutputSeparator).toBe('\u0001');
  });
});
