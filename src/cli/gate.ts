// The regression gate: thresholds (--fail-on or the scenario's failOn) checked per environment, optionally
// against the same environment in a baseline run. Prepared before the run, so a typo in --fail-on or a wrong
// --baseline is reported at once rather than after minutes of running (and losing the table).
import * as path from 'node:path';
import { openRun, type StoredRun } from '../core/runs/store';
import { evaluateThresholds, parseFailOn } from '../core/stress';
import { AlloclabError } from '../core/errors';

export interface GateResult { checked: boolean; crossed: string[] }

export interface Gate { thresholds: ReturnType<typeof parseFailOn> | null; baseline: StoredRun | null }

/** Parses --fail-on and opens --baseline; throws an input error (exit 2) for either. */
export function prepareGate(failOn: string | undefined, baselineDir: string | undefined): Gate {
  if (!failOn) {
    if (baselineDir) throw new AlloclabError('--baseline needs --fail-on (or failOn in the scenario) to say what counts as a regression', 'input');
    return { thresholds: null, baseline: null };
  }
  let thresholds;
  try {
    thresholds = parseFailOn(failOn);
  } catch (e) {
    throw new AlloclabError(`--fail-on: ${(e as Error).message}`, 'input');
  }
  let baseline: StoredRun | null = null;
  if (baselineDir) {
    try {
      baseline = openRun(path.resolve(baselineDir));
    } catch (e) {
      throw new AlloclabError(`--baseline: ${(e as Error).message}`, 'input');
    }
  }
  return { thresholds, baseline };
}

export function applyGate(run: StoredRun, gate: Gate): GateResult {
  if (!gate.thresholds) return { checked: false, crossed: [] };
  const crossed: string[] = [];
  for (const { record: e } of run.environments) {
    if (!e.metrics) continue;
    const base = gate.baseline?.environments.find((b) => b.record.env === e.env && b.record.metrics)?.record.metrics ?? null;
    for (const c of evaluateThresholds(gate.thresholds, e.metrics, base)) crossed.push(`${e.label}: ${c}`);
  }
  return { checked: true, crossed };
}
