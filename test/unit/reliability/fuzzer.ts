// A small seeded fuzzer for the readers: byte-level mutations of any file, type-level mutations of JSON (a value
// replaced by null, a number, a string, an empty array, an object of the wrong shape), and a classifier that
// tells a clean error from a crash the way a user sees the CLI: a clean run ends with 0, 1 or 2 and no stack trace.
import { AlloclabError } from '../../../src/core/errors';
import { buildProgram, exitCodeOf } from '../../../src/cli/main';
import { CommanderError } from 'commander';
import { STACK_TRACE } from './support';
import { prng } from '../support/prng';

/** The tests' one seeded generator, under the name the fuzz cases use. */
export const rng = prng;

export type Random = () => number;
const int = (r: Random, n: number) => Math.floor(r() * n);
const pick = <T>(r: Random, xs: readonly T[]): T => xs[int(r, xs.length)];

const NASTY_BYTES = ['\n', '\0', '\r', ' ', '-', '9', 'x', '{', '"', '\\', '\u00ff', '\u2028', '\x1b[2J'];
const NASTY_NUMBERS = ['0', '-1', '99999999999999999999', '1e308', 'NaN', '4294967296', '', '0x'];

/** One to four byte-level edits: flips, cuts, repeats, insertions, a truncation, a number swapped for an odd one. */
export function mutateBytes(r: Random, input: Buffer): Buffer {
  let b = Buffer.from(input);
  const edits = 1 + int(r, 4);
  for (let k = 0; k < edits; k++) {
    const at = int(r, b.length + 1);
    switch (int(r, 7)) {
      case 0: if (b.length) b[Math.min(at, b.length - 1)] ^= 1 << int(r, 8); break;
      case 1: b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(r, 64)))]); break;
      case 2: { const len = 1 + int(r, 256); b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]); break; }
      case 3: b = Buffer.concat([b.subarray(0, at), Buffer.from(pick(r, NASTY_BYTES)), b.subarray(at)]); break;
      case 4: b = b.subarray(0, at); break;
      case 5: {
        const text = b.toString('latin1');
        const m = /\d+/g;
        m.lastIndex = at;
        const found = m.exec(text);
        if (found) b = Buffer.from(text.slice(0, found.index) + pick(r, NASTY_NUMBERS) + text.slice(found.index + found[0].length), 'latin1');
        break;
      }
      default: { const len = 1 + int(r, 16); b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: len }, () => int(r, 256))), b.subarray(at)]); }
    }
  }
  return b;
}

const WRONG_VALUES: unknown[] = [null, 0, -1, 1e308, 2 ** 53 + 1, '', 'x', [], {}, { a: 1 }, [null], true, '9999h'];

/** Paths to every value in a JSON tree (the root is []). */
function paths(value: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...at, i], out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...at, k], out);
  return out;
}

/** The same JSON with one to three values (or the root) replaced by a value of the wrong type or shape. */
export function mutateJson(r: Random, value: unknown): unknown {
  let root = structuredClone(value);
  const edits = 1 + int(r, 3);
  for (let k = 0; k < edits; k++) {
    // A depth first, then a value at that depth: uniform over values would almost always hit the deep, bulky
    // parts (a stored diagnosis, the scenario) and almost never a record's own fields.
    const all = paths(root);
    const depths = [...new Set(all.map((p) => p.length))];
    const depth = pick(r, depths);
    const target = pick(r, all.filter((p) => p.length === depth));
    const replacement = structuredClone(pick(r, WRONG_VALUES));
    if (target.length === 0) {
      root = replacement;
      continue;
    }
    let parent = root as Record<string | number, unknown>;
    for (const key of target.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
    const last = target[target.length - 1];
    if (int(r, 6) === 0 && !Array.isArray(parent)) delete parent[last];
    else parent[last] = replacement;
  }
  return root;
}

/** Type-level mutation of an ndjson text: some lines replaced by a mutated copy of themselves. */
export function mutateNdjson(r: Random, text: string): string {
  const lines = text.split('\n');
  const edits = 1 + int(r, 3);
  for (let k = 0; k < edits; k++) {
    const i = int(r, lines.length);
    try {
      lines[i] = JSON.stringify(mutateJson(r, JSON.parse(lines[i])));
    } catch {
      lines[i] = JSON.stringify(pick(r, WRONG_VALUES));
    }
  }
  return lines.join('\n');
}

export type Outcome = 'ok' | 'clean-error' | 'crash';

export interface CaseResult { outcome: Outcome; detail: string }

/**
 * Runs `alloclab ARGS` in this process with its output captured, as main() would, and classifies the result:
 * a value or an AlloclabError/usage error is clean (exit 0, 1 or 2); anything else thrown, an uncaught exception
 * or an unhandled rejection while it ran, or a stack trace in its output is a crash.
 */
export function runCliInProcess(args: string[]): Promise<CaseResult> {
  return classify(async () => {
    await buildProgram().parseAsync(['node', 'alloclab', ...args]);
  });
}

/** Classifies one call of a reader (or of the CLI) by what it throws and prints, as described above. */
export async function classify(call: () => Promise<unknown> | unknown): Promise<CaseResult> {
  const out: string[] = [];
  const write = process.stdout.write;
  const writeErr = process.stderr.write;
  const stray: unknown[] = [];
  const onStray = (e: unknown) => stray.push(e);
  process.on('uncaughtException', onStray);
  process.on('unhandledRejection', onStray);
  process.stdout.write = ((chunk: string | Uint8Array) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => (out.push(String(chunk)), true)) as typeof process.stderr.write;
  let result: CaseResult;
  try {
    await call();
    result = { outcome: 'ok', detail: '' };
  } catch (e) {
    if (e instanceof CommanderError) result = { outcome: e.exitCode === 0 ? 'ok' : 'clean-error', detail: e.message };
    else if (e instanceof AlloclabError) {
      const code = exitCodeOf(e.kind);
      result = code === 1 || code === 2 ? { outcome: 'clean-error', detail: e.message } : { outcome: 'crash', detail: `exit ${code}: ${e.message}` };
    } else result = { outcome: 'crash', detail: (e as Error)?.stack ?? String(e) };
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
    // Let stray callbacks of this case (stream errors, timers) fire while we still listen.
    await new Promise((r) => setImmediate(r));
    process.off('uncaughtException', onStray);
    process.off('unhandledRejection', onStray);
  }
  if (stray.length) return { outcome: 'crash', detail: `uncaught: ${(stray[0] as Error)?.stack ?? String(stray[0])}` };
  const printed = out.join('');
  if (result.outcome !== 'crash' && STACK_TRACE.test(printed)) return { outcome: 'crash', detail: `stack trace printed:\n${printed.slice(0, 2000)}` };
  return result;
}

/** A crash of the real CLI process: killed by a signal, an exit code other than 0, 1, 2, or a stack trace on stderr. */
export function processCrash(r: { status: number | null; signal: string | null; stderr: string }): string | null {
  if (r.signal) return `killed by ${r.signal}`;
  if (r.status !== 0 && r.status !== 1 && r.status !== 2) return `exit ${r.status}`;
  if (STACK_TRACE.test(r.stderr)) return `stack trace on stderr:\n${r.stderr.slice(0, 2000)}`;
  return null;
}
