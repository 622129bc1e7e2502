// Streaming line readers for profile files: plain, or decompressed on the fly (zstd/gzip) so a large trace
// never sits whole in memory.
import { createReadStream, existsSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { StringDecoder } from 'node:string_decoder';
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { ProfileFormatError } from './model';

/** Calls onLine for every line of the file (decompressing .zst/.gz); resolves when done. */
export async function forEachLine(file: string, onLine: (line: string, lineNo: number) => void): Promise<void> {
  if (!existsSync(file)) throw new ProfileFormatError(file, null, 'file not found');
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
  try {
    // Splitting chunks by hand: readline's per-line async iteration costs about half the parse time.
    const decoder = new StringDecoder('utf8');
    let rest = '';
    const emit = (text: string, final: boolean) => {
      let start = 0;
      let nl: number;
      while ((nl = text.indexOf('\n', start)) >= 0) {
        const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        onLine(text.slice(start, end), ++n);
        start = nl + 1;
      }
      rest = text.slice(start);
      if (final && rest.length) onLine(rest, ++n);
    };
    for await (const chunk of input) emit(rest + decoder.write(chunk as Buffer), false);
    emit(rest + decoder.end(), true);
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
}
