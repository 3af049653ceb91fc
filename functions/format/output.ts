import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { DEFAULTS } from '../config.js';
import type { OutputFormat } from '../job.js';
import type { ObjectWriter } from '../storage/index.js';
import { encodeText } from './records.js';

/**
 * One output record as a line. `tsv`: key<TAB>value, strings as they are and anything else as
 * JSON; a string holding a tab, CR or LF is written JSON-quoted so it cannot break the line
 * into two records. `jsonl`: {"key": …, "value": …}, lossless. `text`: the key alone (a string
 * as it is, anything else as JSON), which must not hold a line break.
 */
export function formatRecord(format: OutputFormat, key: unknown, value: unknown): string {
  if (format === 'jsonl') return `${JSON.stringify({ key, value: value === undefined ? null : value })}\n`;
  if (format === 'text') {
    const line = typeof key === 'string' ? key : encodeText(key);
    if (/[\r\n]/.test(line))
      throw new TypeError('A text output record holds a line break: emit one line per record (or write jsonl).');
    return `${line}\n`;
  }
  return `${tsvField(key)}\t${tsvField(value)}\n`;
}

const UNSAFE = /[\t\r\n]/;

function tsvField(x: unknown): string {
  if (typeof x === 'string') return UNSAFE.test(x) ? JSON.stringify(x) : x;
  return encodeText(x);
}

const gzipAsync = promisify(gzip);

/**
 * Buffers output lines and writes them to storage in large pieces; with `codec: 'gzip'` each
 * piece is one gzip member (a file of concatenated members is one gzip stream to every reader).
 */
export class LineWriter {
  private parts: string[] = [];
  private pending = 0;
  records = 0;
  bytes = 0;

  constructor(
    private readonly writer: ObjectWriter,
    private readonly format: OutputFormat,
    private readonly codec?: 'gzip',
  ) {}

  add(key: unknown, value: unknown): void {
    this.push(formatRecord(this.format, key, value));
  }

  /**
   * A record a stream program printed (text protocol): in `tsv`, `key<TAB>value` exactly as
   * printed, as Hadoop's TextOutputFormat writes it (the program's line cannot hold a line
   * break, so it stays one record).
   */
  addText(key: string, value: string): void {
    this.push(this.format === 'tsv' ? `${key}\t${value}\n` : formatRecord(this.format, key, value));
  }

  private push(line: string): void {
    this.parts.push(line);
    this.pending += line.length;
    this.records++;
  }

  get full(): boolean {
    return this.pending >= DEFAULTS.writeBufferBytes;
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const text = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    this.pending = 0;
    const buf = this.codec === 'gzip' ? await gzipAsync(text) : text;
    this.bytes += buf.length;
    await this.writer.write(buf);
  }

  async end(): Promise<number> {
    await this.flush();
    return this.writer.end();
  }

  abort(): Promise<void> {
    return this.writer.abort();
  }
}
