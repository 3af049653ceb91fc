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

/** Buffers output lines and writes them to storage in large pieces. */
export class LineWriter {
  private parts: string[] = [];
  private pending = 0;
  records = 0;
  bytes = 0;

  constructor(
    private readonly writer: ObjectWriter,
    private readonly format: OutputFormat,
  ) {}

  add(key: unknown, value: unknown): void {
    const line = formatRecord(this.format, key, value);
    this.parts.push(line);
    this.pending += line.length;
    this.records++;
  }

  get full(): boolean {
    return this.pending >= DEFAULTS.writeBufferBytes;
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const buf = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    this.pending = 0;
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
