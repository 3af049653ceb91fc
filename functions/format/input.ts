import { constants, isUtf8 } from 'node:buffer';
import { zlib } from '../builtins.js';
import { MalformedRecordError, RecordTooLargeError, UnsupportedCompressionError } from '../errors.js';
import type { InputFormat } from '../job.js';
import type { Storage } from '../storage/index.js';
import { parseCsvLine } from './csv.js';
import { type Chunk, compressionOf, type ReadOptions, readLines } from './lines.js';

export type RecordSink = (record: unknown) => unknown;

/**
 * Decodes the records of one chunk in the job's input format and hands each to `sink`:
 * `text` a line; `jsonl` the parsed JSON of each non-blank line; `csv` an object keyed by the
 * object's header line (read from the object's start when the chunk begins later); `whole` the
 * object's text. Returns the input bytes consumed.
 */
export async function readRecords(
  storage: Storage,
  chunk: Chunk,
  format: InputFormat,
  options: ReadOptions,
  sink: RecordSink,
): Promise<number> {
  switch (format) {
    case 'text':
      return readLines(storage, chunk, sink, options);
    case 'jsonl': {
      let n = 0;
      return readLines(
        storage,
        chunk,
        (line) => {
          n++;
          if (line.trim() === '') return;
          let value: unknown;
          try {
            value = JSON.parse(line);
          } catch (e) {
            throw new MalformedRecordError(
              chunk.uri,
              chunk.start,
              `line ${n} of the split is not JSON (${(e as Error).message})`,
            );
          }
          return sink(value);
        },
        options,
      );
    }
    case 'csv':
      return readCsv(storage, chunk, sink, options);
    case 'whole': {
      const body = await storage.readAll(chunk.uri);
      const codec = compressionOf(body.subarray(0, 8));
      if (codec !== undefined && !(codec === 'gzip' && chunk.gzip))
        throw new UnsupportedCompressionError(chunk.uri, codec, 'by its first bytes');
      const raw = chunk.gzip ? zlib().gunzipSync(body) : body;
      if (raw.length - 3 > constants.MAX_STRING_LENGTH)
        throw new RecordTooLargeError(chunk.uri, 0, constants.MAX_STRING_LENGTH);
      const bom = raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? 3 : 0;
      if (options.strictUtf8 && !isUtf8(raw))
        throw new MalformedRecordError(
          chunk.uri,
          0,
          'invalid UTF-8; strict UTF-8 is on (without it, invalid bytes read as U+FFFD)',
        );
      const text = raw.toString('utf8', bom);
      await sink(text);
      return body.length;
    }
  }
}

async function readCsv(storage: Storage, chunk: Chunk, sink: RecordSink, options: ReadOptions): Promise<number> {
  let header: string[] | undefined;
  /** Where the header has a column named "__proto__" (-1: none), once the header is read. */
  let protoAt: number | undefined;
  if (chunk.start > 0 && !chunk.gzip) {
    await readLines(
      storage,
      { ...chunk, start: 0, end: 0 },
      (line) => {
        header = parseCsvLine(line);
      },
      options,
    );
  }
  let n = 0;
  return readLines(
    storage,
    chunk,
    (line) => {
      n++;
      if (line === '') return;
      let fields: string[];
      try {
        fields = parseCsvLine(line);
      } catch (e) {
        throw new MalformedRecordError(chunk.uri, chunk.start, `CSV line ${n} of the split: ${(e as Error).message}`);
      }
      if (header === undefined) {
        header = fields;
        return;
      }
      if (fields.length > header.length)
        throw new MalformedRecordError(
          chunk.uri,
          chunk.start,
          `CSV line ${n} of the split has ${fields.length} fields, the header ${header.length}`,
        );
      const record: Record<string, string> = {};
      for (let i = 0; i < header.length; i++) record[header[i]!] = fields[i] ?? '';
      // Assigning "__proto__" would set the prototype and drop the field: define it as data.
      if (protoAt === undefined) protoAt = header.indexOf('__proto__');
      if (protoAt >= 0)
        Object.defineProperty(record, '__proto__', {
          value: fields[protoAt] ?? '',
          enumerable: true,
          writable: true,
          configurable: true,
        });
      return sink(record);
    },
    options,
  );
}
