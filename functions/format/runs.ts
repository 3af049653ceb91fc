import fs from 'node:fs';
import { crc32c } from './crc32c.js';
import { RecordBuffer, RecordReader } from './records.js';

/** One partition's sorted run inside a data object: [offset, length, records, crc32c]. */
export type RunEntry = [offset: number, length: number, records: number, crc32c: number];

const FLUSH_BYTES = 1 << 20;

/**
 * Writes R sorted runs, one partition after another, into one object, and records each run's
 * (offset, length, records, crc32c). `sink` receives buffers it may keep: none is reused.
 */
export class RunWriter {
  private buf = new RecordBuffer(FLUSH_BYTES + (FLUSH_BYTES >> 2));
  private offset = 0; // bytes handed to the sink
  private crcPos = 0; // buffer position up to which `crc` is computed
  private crc = 0;
  private runStart = 0;
  private runRecords = 0;
  readonly runs: RunEntry[] = [];
  records = 0;

  constructor(private readonly sink: (chunk: Buffer) => Promise<void> | void) {}

  append(flags: number, key: string, value: string): Promise<void> | undefined {
    this.buf.append(flags, key, value);
    this.runRecords++;
    return this.buf.length >= FLUSH_BYTES ? this.flush() : undefined;
  }

  /** `append` with the key as UTF-8 bytes src[start, end). */
  appendKeyBytes(flags: number, src: Uint8Array, start: number, end: number, value: string): Promise<void> | undefined {
    this.buf.appendKeyBytes(flags, src, start, end, value);
    this.runRecords++;
    return this.buf.length >= FLUSH_BYTES ? this.flush() : undefined;
  }

  /** A record per position of order[from, to): its key's bytes and its count (RecordBuffer.appendKeyCounts). */
  async appendKeyCounts(
    flags: number,
    arena: Uint8Array,
    offsets: Int32Array,
    lengths: Int32Array,
    counts: Int32Array,
    order: Int32Array,
    from: number,
    to: number,
  ): Promise<void> {
    for (let k = from; k < to; ) {
      const next = this.buf.appendKeyCounts(flags, arena, offsets, lengths, counts, order, k, to, FLUSH_BYTES);
      this.runRecords += next - k;
      k = next;
      if (this.buf.length >= FLUSH_BYTES) await this.flush();
    }
  }

  /** `append` with the key and the value as UTF-8 bytes: keySrc[ks, ke) and valueSrc[vs, ve). */
  appendRecordBytes(
    flags: number,
    keySrc: Uint8Array,
    ks: number,
    ke: number,
    valueSrc: Uint8Array,
    vs: number,
    ve: number,
  ): Promise<void> | undefined {
    this.buf.appendRecordBytes(flags, keySrc, ks, ke, valueSrc, vs, ve);
    this.runRecords++;
    return this.buf.length >= FLUSH_BYTES ? this.flush() : undefined;
  }

  private async flush(): Promise<void> {
    const b = this.buf;
    if (b.length === 0) return;
    this.crc = crc32c(b.buf, this.crc, this.crcPos, b.length);
    this.offset += b.length;
    this.buf = new RecordBuffer(FLUSH_BYTES + (FLUSH_BYTES >> 2));
    this.crcPos = 0;
    await this.sink(b.view());
  }

  /** Closes the current partition's run (possibly empty). Call once per partition, in order. */
  endRun(): void {
    const b = this.buf;
    this.crc = crc32c(b.buf, this.crc, this.crcPos, b.length);
    this.crcPos = b.length;
    const end = this.offset + b.length;
    this.runs.push([this.runStart, end - this.runStart, this.runRecords, this.crc]);
    this.records += this.runRecords;
    this.runStart = end;
    this.runRecords = 0;
    this.crc = 0;
  }

  /** Flushes what is buffered; returns the total bytes written. */
  async finish(): Promise<number> {
    await this.flush();
    return this.offset;
  }
}

/** A reader over a region of a local file, pulled synchronously. */
export function fileRegionReader(fd: number, offset: number, length: number, bufferBytes: number): RecordReader {
  let pos = offset;
  return new RecordReader(
    (target, max) => {
      const n = fs.readSync(fd, target, 0, max, pos);
      pos += n;
      return n;
    },
    length,
    bufferBytes,
  );
}

/** A local file written synchronously through RunWriter (spills, fetched reduce input). */
export function fileSink(path: string): { fd: number; sink: (chunk: Buffer) => void } {
  const fd = fs.openSync(path, 'w+');
  return {
    fd,
    sink: (chunk) => {
      let off = 0;
      while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
    },
  };
}
