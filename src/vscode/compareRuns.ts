// The side-by-side summary of two saved runs (Compare Runs). No vscode import: unit-tested in plain Node.
import type { EnvironmentRecord } from '../core/model';
import { formatGrowth, formatMiB } from '../core/units';

function envRow(e: EnvironmentRecord): string {
  const m = e.metrics;
  return `| ${e.label || e.env} | ${formatMiB(m?.peakRssBytes)} | ${formatMiB(m?.finalRssBytes)} | ${formatGrowth(m?.growthBytesPerMin)} | ${m?.throughputRps?.toFixed(0) ?? '-'} | ${e.error ?? (e.verification && !e.verification.applied ? `not applied: ${e.verification.notAppliedReason}` : '')} |`;
}

/** A side-by-side summary of two runs, as markdown. */
export function compareRunsMarkdown(a: { dir: string; record: { name: string; createdAt: string; verdict: string | null; environments: EnvironmentRecord[] } }, b: typeof a): string {
  const section = (r: typeof a) => [
    `## ${r.record.name} — ${r.record.createdAt}`, '', `\`${r.dir}\``, '',
    '| environment | peak | final | growth | req/s | note |', '|---|---|---|---|---|---|',
    ...r.record.environments.map(envRow), '', r.record.verdict ?? '', '',
  ].join('\n');
  return `# Allocator Lab: run comparison\n\n${section(a)}\n${section(b)}`;
}
