// The run's judgement: the diagnosis (analysis/diagnosis.ts) and its words (analysis/diagnosisText.ts), set on the
// record in one place so the runner, `alloclab show` and the tests agree.
import type { EnvironmentRecord, RunRecord } from '../model';
import { diagnose } from './diagnosis';
import { renderDiagnosis } from './diagnosisText';

/** The diagnosis of environment records in words (the paragraph the CLI, the panel and the report show). */
export function verdict(envs: EnvironmentRecord[], scenario: unknown = null): string {
  return renderDiagnosis(diagnose(envs, scenario), envs);
}

/** Sets `diagnosis` and `verdict` (rendered from it) on a run record, from its environments' metrics. */
export function judgeRun(record: RunRecord): void {
  const d = diagnose(record.environments, record.scenario);
  record.diagnosis = d;
  record.verdict = renderDiagnosis(d, record.environments);
}
