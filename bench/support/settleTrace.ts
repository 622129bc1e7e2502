// What --until-settled would have decided, second by second, on a kept run: for each environment and phase, the
// settler's answer at every check. A tool for reading the settler on real samples (it prints, it judges nothing),
// not one of `npm run bench`'s benchmarks: `node dist/bench/support/settleTrace.js RUN_DIR [--ledger off] [--every N]`.
import { PhaseSettler } from '../../src/core/analysis/settle';
import { openRun } from '../../src/core/runs/store';
import { withoutLedger } from './deriveRun';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: settleTrace RUN_DIR [--ledger off] [--every N]');
  process.exit(2);
}
const opt = (name: string) => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? process.argv[i + 1] : undefined; };
const every = Number(opt('every') ?? 1);
const run = openRun(dir);
for (const e of run.environments) {
  const samples = opt('ledger') === 'off' ? withoutLedger(e.samples) : e.samples;
  for (const start of e.events) {
    if (start.type !== 'phase-start') continue;
    const end = e.events.find((x) => x.type === 'phase-end' && x.index === start.index);
    if (!end) continue;
    const settler = new PhaseSettler(start.kind, start.t, { boundMs: end.t - start.t });
    console.log(`== ${e.record.env} ${start.phase} (${((end.t - start.t) / 1000).toFixed(0)} s)`);
    let k = 0;
    for (let now = start.t + 1000; now < end.t; now += 1000) {
      const c = settler.check(samples, now);
      if (c.settled || ++k % every === 0) console.log(`  ${((now - start.t) / 1000).toFixed(0)} s: ${c.settled ? 'SETTLED' : 'open'}: ${c.why}`);
      if (c.settled) break;
    }
  }
}
