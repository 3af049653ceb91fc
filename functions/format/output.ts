import { promisify } from 'node:util';
import { zlib } from '../builtins.js';
import { DEFAULTS } from '../config.js';
import type { OutputFormat } from '../job.js';
import type { ObjectWriter } from '../storage/index.js';
import { encodeText, writeDigits } from './records.js';

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

/** One gzip member of `text` (zlib is loaded when first needed: functions/builtins.ts). */
const gzipAsync = (text: Buffer) => promisify(zlib().gzip)(text);

/**
 * Buffers output lines and writes them to storage in large pieces; with `codec: 'gzip'` each
 * piece is one gzip member (a file of concatenated members is one gzip stream to every reader).
 */
export class LineWriter {
  /** Lines added as strings since the last piece of bytes. */
  private parts: string[] = [];
  /** What was added before `parts`, in order: lines as bytes, and earlier strings encoded. */
  private pieces: Buffer[] = [];
  /** Lines added as bytes (addCount), `raw[0, rawLength)`, after `pieces`. */
  private raw: Buffer | undefined;
  private rawLength = 0;
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

  /**
   * A `tsv` record of a text key, given as its UTF-8 bytes `key[start, end)`, and a safe integer,
   * written as bytes: what `add(key, n)` writes, without making the key a string. The caller
   * makes sure the format is `tsv` and the key holds no tab, CR or LF (else `add` quotes it).
   */
  addCount(key: Uint8Array, start: number, end: number, n: number): void {
    if (this.parts.length > 0) this.encodeParts();
    const room = end - start + 24;
    if (this.raw === undefined || this.rawLength + room > this.raw.length) {
      this.endRaw();
      this.raw = Buffer.allocUnsafe(Math.max(64 * 1024, room));
    }
    const b = this.raw;
    let o = this.rawLength;
    for (let i = start; i < end; i++) b[o++] = key[i]!;
    b[o++] = 9;
    if (n < 0) b[o++] = 0x2d;
    o = writeDigits(b, o, Math.abs(n));
    b[o++] = 10;
    this.pending += o - this.rawLength;
    this.rawLength = o;
    this.records++;
  }

  private push(line: string): void {
    if (this.rawLength > 0) this.endRaw();
    this.parts.push(line);
    this.pending += line.length;
    this.records++;
  }

  private encodeParts(): void {
    this.pieces.push(Buffer.from(this.parts.join(''), 'utf8'));
    this.parts = [];
  }

  private endRaw(): void {
    if (this.raw === undefined || this.rawLength === 0) return;
    this.pieces.push(this.raw.subarray(0, this.rawLength));
    this.raw = this.raw.length - this.rawLength >= 4096 ? this.raw.subarray(this.rawLength) : undefined;
    this.rawLength = 0;
  }

  get full(): boolean {
    return this.pending >= DEFAULTS.writeBufferBytes;
  }

  async flush(): Promise<void> {
    if (this.parts.length > 0) this.encodeParts();
    this.endRaw();
    if (this.pieces.length === 0) return;
    const text = this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces);
    this.pieces = [];
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
