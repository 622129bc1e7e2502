// Values for {{list NAME}}: inline arrays, or files next to the scenario (read once per phase, before load starts,
// so a missing file is reported before the target sees a single request).
import * as path from 'node:path';
import { AlloclabError } from '../errors';
import { readRegularFile } from '../files';
import type { ListSource } from './fields';

/** Resolves every list to its values; .json files hold an array, other files one value per non-empty line. */
export function resolveLists(lists: Readonly<Record<string, ListSource>> | undefined, baseDir: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, source] of Object.entries(lists ?? {})) {
    out[name] = Array.isArray(source) ? [...source] : readListFile(name, path.resolve(baseDir, source.file));
  }
  return out;
}

function readListFile(name: string, file: string): string[] {
  let text: string;
  try {
    text = readRegularFile(file);
  } catch (e) {
    throw new AlloclabError(`List "${name}": cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). Fix the "file" path (it is relative to the scenario file).`, 'input');
  }
  let values: string[];
  if (file.toLowerCase().endsWith('.json')) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new AlloclabError(`List "${name}": ${file} is not valid JSON (${(e as Error).message}).`, 'input');
    }
    if (!Array.isArray(data)) throw new AlloclabError(`List "${name}": ${file} must hold a JSON array of values.`, 'input');
    // Objects become their JSON text, so a list of request bodies can be written as objects.
    values = data.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
  } else {
    values = text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '');
  }
  if (values.length === 0) throw new AlloclabError(`List "${name}": ${file} holds no values.`, 'input');
  return values;
}
