// bench/RESULTS.md is shared: each benchmark owns one "## Heading" section and replaces only that one.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../src/core/workers';

/** Replaces (or appends) the section under `heading` ("## Name") of bench/RESULTS.md, stamped with when and how it was measured. */
export function writeResultsSection(heading: string, command: string, body: string): void {
  const file = path.join(packageRoot(), 'bench', 'RESULTS.md');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
  const section = `${heading}\n\nMeasured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`${command}\`.\n\n${body}\n`;
  const start = text.indexOf(`\n${heading}\n`);
  let out: string;
  if (start < 0) out = text.replace(/\n*$/, '\n\n') + section;
  else {
    const next = text.indexOf('\n## ', start + 1);
    out = text.slice(0, start + 1) + section + (next < 0 ? '' : '\n' + text.slice(next + 1));
  }
  writeFileSync(file, out);
}
