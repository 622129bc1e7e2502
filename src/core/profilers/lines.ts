// Streaming line readers for profile files: plain, or decompressed on the fly (zstd/gzip) so a large trace
// never sits whole in memory.
import { createReadStream, existsSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { createInterface } from 'node:readline';
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
  const rawDone = new Promise<void>((resolve, reject) => {
    raw.on('error', (e) => reject(new ProfileFormatError(file, null, `cannot read: ${e.message}`)));
    raw.on('close', () => resolve());
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
  const rl = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const line of rl) onLine(line, ++n);
  } catch (e) {
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
  await rawDone.catch((e) => {
    throw e;
  });
}
