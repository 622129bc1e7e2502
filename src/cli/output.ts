// What the CLI prints: the comparison table and the --json document (fields are added, never renamed).
import type { StoredRun } from '../core/runs/store';
import { formatGrowth, formatMiB } from '../core/units';

/** The --json document of a run. */
export function runJson(run: StoredRun) {
  const r = run.record;
  return {
    runDir: run.dir,
    name: r.name,
    kind: r.kind,
    complete: r.complete,
    cancelled: r.cancelled,
    environments: run.environments.map(({ record: e }) => ({
      env: e.env,
      label: e.label,
      repetition: e.repetition,
      applied: e.verification?.applied ?? false,
      notAppliedReason: e.verification?.notAppliedReason ?? null,
      mappedAllocator: e.verification?.mappedAllocator ?? null,
      samples: e.metrics?.samples ?? 0,
      peakRssBytes: e.metrics?.peakRssBytes ?? null,
      finalRssBytes: e.metrics?.finalRssBytes ?? null,
      growthBytesPerMin: e.metrics?.growthBytesPerMin ?? null,
      growthIntervalBytesPerMin: e.metrics?.growthIntervalBytesPerMin ?? null,
      lsGrowthBytesPerMin: e.metrics?.lsGrowthBytesPerMin ?? null,
      trajectory: e.metrics?.trajectory?.class ?? null,
      steadyRssBytes: e.metrics?.steadyRssBytes ?? null,
      meanRssBytes: e.metrics?.meanRssBytes ?? null,
      returnedFraction: e.metrics?.returnedFraction ?? null,
      throughputRps: e.metrics?.throughputRps ?? null,
      latencyP99Ms: e.metrics?.latencyP99Ms ?? null,
      requests: e.metrics?.requests ?? null,
      peakBytesPerRequest: e.metrics?.peakBytesPerRequest ?? null,
      liveHeapBytes: e.metrics?.liveHeapBytes ?? null,
      allocatorHeldBytes: e.metrics?.allocatorHeldBytes ?? null,
      liveHeapGrowthBytesPerMin: e.metrics?.liveHeapGrowthBytesPerMin ?? null,
      // How much of anonymous RSS the ledger's measured parts explain; null without the ledger's split parts.
      ledgerCoverage: e.metrics?.ledgerCoverage ?? null,
      exit: e.exit ? { code: e.exit.code, signal: e.exit.signal, expected: e.exit.expected } : null,
      error: e.error,
      appliedEnv: e.appliedEnv,
      dir: e.dir,
      phases: e.metrics?.phases ?? [],
    })),
    skippedEnvironments: skippedEnvironments(run),
    verdict: r.verdict,
    diagnosis: r.diagnosis ?? null,
  };
}

/** Environments (and repetitions) the run was to measure but never started: it was cancelled or killed first. */
export function skippedEnvironments(run: StoredRun): string[] {
  const planned = run.record.scenario as { environments?: unknown; repeat?: unknown } | null;
  const ids = Array.isArray(planned?.environments) ? planned.environments.filter((e): e is string => typeof e === 'string') : [];
  const repeat = typeof planned?.repeat === 'number' && Number.isInteger(planned.repeat) && planned.repeat > 1 ? Math.min(planned.repeat, 100) : 1;
  const ran = new Set(run.environments.map(({ record: e }) => `${e.env}#${e.repetition}`));
  const out: string[] = [];
  for (const id of ids) for (let rep = 1; rep <= repeat; rep++) if (!ran.has(`${id}#${rep}`)) out.push(repeat > 1 ? `${id} #${rep}` : id);
  return out;
}

/** Lines under the table that say how complete the run is: cancelled, interrupted, environments never run. */
export function runStateNotes(run: StoredRun): string[] {
  const notes: string[] = [];
  if (run.record.cancelled) notes.push('This run was cancelled before its end; the figures cover what was recorded.');
  else if (!run.record.complete) notes.push('This run is incomplete: it was interrupted; the figures cover what was recorded.');
  const skipped = skippedEnvironments(run);
  if (skipped.length) notes.push(`Not run (the run ended before them): ${skipped.join(', ')}.`);
  for (const { record: e } of run.environments) {
    const redirects = (e.metrics?.phases ?? []).reduce((n, p) => n + (p.load?.redirects ?? 0), 0);
    if (redirects) notes.push(`${e.label}: ${redirects} answers were redirects (3xx), which the load does not follow; they are counted apart from successes. Point the URL at the final address.`);
  }
  return notes;
}

function pad(cells: string[][]): string {
  const widths = cells[0].map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  return cells.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd()).join('\n');
}

/** The comparison table, one row per environment (and repetition). */
export function renderTable(run: StoredRun): string {
  const ledger = run.environments.some(({ record: e }) => e.metrics?.liveHeapBytes != null);
  const rows: string[][] = [['environment', 'applied', 'steady', 'peak', 'final', 'growth (load)', 'trend', 'returned', 'req/s', 'p99', 'exit',
    ...(ledger ? ['live heap', 'held by allocator'] : [])]];
  for (const { record: e } of run.environments) {
    const m = e.metrics;
    const applied = e.verification ? (e.verification.applied ? 'yes' : 'NO') : e.error ? 'failed' : '-';
    const exit = !e.exit ? '-' : e.exit.expected ? 'stopped' : e.exit.signal ? e.exit.signal : `code ${e.exit.code}`;
    rows.push([
      e.label,
      applied,
      formatMiB(m?.steadyRssBytes),
      formatMiB(m?.peakRssBytes),
      formatMiB(m?.finalRssBytes),
      formatGrowth(m?.growthBytesPerMin),
      m?.trajectory?.class ?? '-',
      m?.returnedFraction == null ? '-' : `${Math.round(m.returnedFraction * 100)} %`,
      m?.throughputRps == null ? '-' : m.throughputRps.toFixed(0),
      m?.latencyP99Ms == null ? '-' : `${m.latencyP99Ms.toFixed(1)} ms`,
      exit,
      ...(ledger ? [formatMiB(m?.liveHeapBytes), formatMiB(m?.allocatorHeldBytes)] : []),
    ]);
  }
  const notes = run.environments
    .filter(({ record: e }) => (e.verification && !e.verification.applied) || e.error)
    .map(({ record: e }) => `  ${e.label}: ${e.verification && !e.verification.applied ? `not applied: ${e.verification.notAppliedReason}` : e.error}`);
  return pad(rows) + (notes.length ? `\n\n${notes.join('\n')}` : '');
}
