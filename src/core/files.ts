// Reading files a user names: only regular files, so a FIFO, a device or a /proc entry given by mistake (or
// by a hostile scenario) is an error at once instead of a read that never returns.
import * as fs from 'node:fs';

/** Why `file` cannot be read as a regular file, or null when it can (a missing file says so too). */
export function notRegularFile(file: string): string | null {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'no such file' : (e as Error).message;
  }
  if (st.isFile()) return null;
  if (st.isDirectory()) return 'it is a folder, not a file';
  if (st.isFIFO()) return 'it is a named pipe (FIFO), not a regular file';
  if (st.isSocket()) return 'it is a socket, not a regular file';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'it is a device, not a regular file';
  return 'it is not a regular file';
}

/** Reads a regular file as UTF-8; throws an Error with the reason (callers wrap it in their typed error). */
export function readRegularFile(file: string): string {
  const why = notRegularFile(file);
  if (why) throw new Error(why);
  return fs.readFileSync(file, 'utf8');
}
