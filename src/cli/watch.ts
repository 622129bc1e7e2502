// `alloclab watch PID`: live RSS of a running process, saved as a run.
import type { Command } from 'commander';
import { AlloclabError } from '../core/errors';
import { watchProcess } from '../core/runs/watch';
import { openRun } from '../core/runs/store';
import { formatMiB, parsePositiveDuration } from '../core/units';
import { renderTable, runJson } from './output';
import { withStopSignals } from './signals';

export function watchCommand(program: Command): void {
  program
    .command('watch')
    .description('sample a running process until it exits, --duration ends, or Ctrl-C; saved as a run')
    .argument('<pid>', 'process id')
    .option('--duration <d>', 'stop after this long, e.g. 30s')
    .option('--interval <ms>', 'sampling interval in milliseconds', '50')
    .option('--runs-dir <dir>', 'parent folder of run folders', '.alloclab/runs')
    .option('--out <dir>', 'exact run folder')
    .option('--json', 'print one JSON document')
    .action(async (pidText: string, opts: { duration?: string; interval: string; runsDir: string; out?: string; json?: boolean }) => {
      const pid = Number(pidText);
      if (!Number.isInteger(pid) || pid <= 0) throw new AlloclabError(`"${pidText}" is not a process id`, 'input');
      const intervalMs = Number(opts.interval);
      if (!Number.isFinite(intervalMs) || intervalMs < 5 || intervalMs > 10_000) throw new AlloclabError('--interval must be a number of milliseconds from 5 to 10000', 'input');
      let durationMs: number | undefined;
      try {
        durationMs = opts.duration ? parsePositiveDuration(opts.duration) : undefined;
      } catch (e) {
        throw new AlloclabError(`--duration: ${(e as Error).message}`, 'input');
      }
      const tty = process.stderr.isTTY && !opts.json;
      // SIGTERM and SIGHUP end the watch as Ctrl-C does: the run is saved.
      const { runDir } = await withStopSignals((signal) => watchProcess({
        pid, runsDir: opts.runsDir, outDir: opts.out, intervalMs,
        durationMs, signal,
      }, {
        samples: (_i, batch) => { if (tty && batch.length) process.stderr.write(`\r\x1b[KPID ${pid}  RSS ${formatMiB(batch[batch.length - 1].rssBytes)}`); },
      }));
      if (tty) process.stderr.write('\r\x1b[K');
      const run = openRun(runDir);
      process.stdout.write(opts.json ? JSON.stringify(runJson(run), null, 2) + '\n' : `${renderTable(run)}\n\nRun saved in ${runDir}\n`);
    });
}
