// The regression gate: thresholds (--fail-on or the scenario's failOn) checked per environment, optionally
// against the same environment in a baseline run.
import type { StoredRun } from '../core/runs/store';
import { evaluateThresholds, parseFailOn } from '../core/stress';
import { AlloclabError } from '../core/errors';

export interface GateResult { checked: boolean; crossed: string[] }

export function applyGate(run: StoredRun, baseline: StoredRun | null, failOn: string | undefined): GateResult {
  if (!failOn) {
    if (baseline) throw new AlloclabError('--baseline needs --fail-on (or failOn in the scenario) to say what counts as a regression', 'input');
    return { checked: false, crossed: [] };
  }
  let thresholds;
  try {
    thresholds = parseFailOn(failOn);
  } catch (e) {
    throw new AlloclabError(`--fail-on: ${(e as Error).message}`, 'input');
  }
  const crossed: string[] = [];
  for (const { record: e } of run.environments) {
    if (!e.metrics) continue;
    const base = baseline?.environments.find((b) => b.record.env === e.env && b.record.metrics)?.record.metrics ?? null;
    for (const c of evaluateThresholds(thresholds, e.metrics, base)) crossed.push(`${e.label}: ${c}`);
  }
  return { checked: true, crossed };
}
