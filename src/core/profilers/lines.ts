// Streaming line readers for profile files: plain, or decompressed on the fly (zstd/gzip) so a large trace
// never sits whole in memory.
import { createReadStream } from 'node:fs';
import { notRegularFile } from '../files';
import { createGunzip } from 'node:zlib';
import { StringDecoder } from 'node:string_decoder';
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { ProfileFormatError } from './model';

/** No line of a real profile comes near this; past it the file is something else (and memory stays bounded). */
const MAX_LINE_CHARS = 64 * 1024 * 1024;

/** What forEachLine read: how many lines, and whether the last one ended with a newline (a cut file does not). */
export interface LinesRead { lines: number; endsWithNewline: boolean }

/** Calls onLine for every line of the file (decompressing .zst/.gz); resolves when done. */
export async function forEachLine(file: string, onLine: (line: string, lineNo: number) => void): Promise<LinesRead> {
  const notRegular = notRegularFile(file);
  if (notRegular) throw new ProfileFormatError(file, null, notRegular === 'no such file' ? 'file not found' : notRegular);
  let input: Readable;
  let child: ReturnType<typeof spawn> | null = null;
  let childError = '';
  const raw = createReadStream(file);
  // Recorded, not thrown: stopping early (a parse error) destroys the stream, which is not a read error.
  let rawError: Error | null = null;
  let stopping = false;
  raw.on('error', (e) => {
    if (!stopping) rawError = e;
  });
  if (file.endsWith('.zst')) {
    child = spawn('zstd', ['-dc', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.on('error', () => {
      childError = 'zstd is not installed (apt-get install zstd)';
    });
    child.stderr!.on('data', (d: Buffer) => (childError += d.toString()));
    // A consumer that stops early closes the pipe; that is not an error.
    child.stdin!.on('error', () => undefined);
    raw.pipe(child.stdin!);
    input = child.stdout!;
  } else if (file.endsWith('.gz')) {
    const gunzip = createGunzip();
    raw.pipe(gunzip);
    input = gunzip;
  } else {
    input = raw;
  }
  let inputError: Error | null = null;
  input.on('error', (e) => (inputError = e));
  let n = 0;
  let endsWithNewline = true;
  try {
    // Splitting chunks by hand: readline's per-line async iteration costs about half the parse time. Only the new
    // chunk is searched for a newline and the pieces of a long line are joined once, so a file of one huge line
    // reads in linear time.
    const decoder = new StringDecoder('utf8');
    let pieces: string[] = [];
    let pendingLength = 0;
    const deliver = (line: string) => onLine(line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line, ++n);
    const emit = (text: string) => {
      let start = 0;
      let nl: number;
      while ((nl = text.indexOf('\n', start)) >= 0) {
        const tail = text.slice(start, nl);
        if (pieces.length) {
          pieces.push(tail);
          deliver(pieces.join(''));
          pieces = [];
          pendingLength = 0;
        } else deliver(tail);
        start = nl + 1;
      }
      if (start < text.length) {
        pieces.push(text.slice(start));
        pendingLength += text.length - start;
        if (pendingLength > MAX_LINE_CHARS) throw new ProfileFormatError(file, n + 1, `a line longer than ${MAX_LINE_CHARS / (1024 * 1024)} MiB: this is not a profile of a kind this tool reads`);
      }
    };
    for await (const chunk of input) emit(decoder.write(chunk as Buffer));
    emit(decoder.end());
    endsWithNewline = pieces.length === 0;
    if (pieces.length) deliver(pieces.join(''));
  } catch (e) {
    stopping = true;
    // A bad last line of a cut-off stream is the decompressor's failure, which says more ("truncated").
    if (child) {
      const c = child;
      const code = c.exitCode ?? (await new Promise<number | null>((r) => {
        const timer = setTimeout(() => r(null), 300);
        c.on('close', (x) => {
          clearTimeout(timer);
          r(x);
        });
      }));
      if (code != null && code !== 0) {
        raw.destroy();
        throw new ProfileFormatError(file, n, `cannot decompress: ${childError.trim().split('\n').pop() || `zstd exited with ${code}`}. The file is truncated or corrupt.`);
      }
    }
    child?.kill();
    raw.destroy();
    if (e instanceof ProfileFormatError) throw e;
    throw new ProfileFormatError(file, n, `cannot read: ${(e as Error).message}`);
  }
  if (inputError) throw new ProfileFormatError(file, n, `cannot decompress: ${(inputError as Error).message}. The file is truncated or corrupt.`);
  if (child) {
    const code = child.exitCode ?? (await new Promise<number | null>((r) => child!.on('close', (c) => r(c))));
    if (code !== 0) {
      throw new ProfileFormatError(file, n, `cannot decompress: ${childError.trim().split('\n').pop() || `zstd exited with ${code}`}. The file is truncated or corrupt.`);
    }
  }
  if (rawError) throw new ProfileFormatError(file, null, `cannot read: ${(rawError as Error).message}`);
  return { lines: n, endsWithNewline };
}
