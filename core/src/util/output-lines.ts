import { StringDecoder } from 'node:string_decoder';
import { safeCut, type Masker } from './mask.js';

/*
 * A command's output as rollgate keeps and streams it: split into lines (UTF-8 decoded across
 * chunks, an over-long line in pieces that never split a secret) and the tail of each stream
 * within a byte limit.
 */

/** A line longer than this without a newline is streamed in pieces of about this size. */
export const MAX_LINE_CHARS = 1_048_576;
/**
 * What a piece of an over-long line keeps back for the next piece: a secret that has begun but
 * not ended yet lies within it, so it is masked whole once the rest arrives.
 */
export const HOLD_BACK_CHARS = 65_536;

/**
 * Keeps the last `limit` bytes of a stream as whole lines where possible. Lines are stored
 * already masked, so a cut can never expose half a secret.
 */
export class TailBuffer {
  private parts: string[] = [];
  private sizes: number[] = [];
  private head = 0;
  private bytes = 0;
  dropped = 0;

  constructor(private readonly limit: number) {}

  push(text: string): void {
    const size = Buffer.byteLength(text);
    this.parts.push(text);
    this.sizes.push(size);
    this.bytes += size;
    while (this.bytes > this.limit && this.parts.length - this.head > 1) {
      const first = this.sizes[this.head] as number;
      this.bytes -= first;
      this.dropped += first;
      this.parts[this.head] = '';
      this.head += 1;
    }
    if (this.head > 1024 && this.head * 2 > this.parts.length) {
      this.parts = this.parts.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }

  text(): string {
    const joined = this.parts.slice(this.head).join('');
    if (this.bytes <= this.limit) return joined;
    // One part is larger than the limit on its own: keep its last `limit` bytes.
    const buf = Buffer.from(joined);
    const cut = buf.length - this.limit;
    this.dropped += cut;
    this.bytes = this.limit;
    return buf.subarray(cut).toString('utf8').replace(/^\uFFFD+/, '');
  }
}

/** Splits a byte stream into lines, decoding UTF-8 across chunk boundaries. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  constructor(
    private readonly emit: (line: string, newline: boolean) => void,
    private readonly mask: Masker,
  ) {}

  write(chunk: Buffer): void {
    this.pending += this.decoder.write(chunk);
    let start = 0;
    for (;;) {
      const nl = this.pending.indexOf('\n', start);
      if (nl === -1) break;
      const end = nl > start && this.pending.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      this.emit(this.pending.slice(start, end), true);
      start = nl + 1;
    }
    this.pending = this.pending.slice(start);
    while (this.pending.length > MAX_LINE_CHARS + HOLD_BACK_CHARS) {
      // Never inside a secret: the cut moves to the start of a match that would straddle it.
      const at = this.pending.length - HOLD_BACK_CHARS;
      const cut = safeCut(this.mask, this.pending, at);
      this.emit(this.pending.slice(0, cut > 0 ? cut : at), false);
      this.pending = this.pending.slice(cut > 0 ? cut : at);
    }
  }

  end(): void {
    this.pending += this.decoder.end();
    if (this.pending.length > 0) this.emit(this.pending, false);
    this.pending = '';
  }
}

