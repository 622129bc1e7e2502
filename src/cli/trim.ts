// `alloclab trim PID|RUN_DIR`: the decisive experiment of "is it retention?": ask the running target, through its
// probe, to give its free memory back, and say how much RSS came back.
import type { Command } from 'commander';
import { AlloclabError } from '../core/errors';
import { trimCallName, trimProcess, trimRunFolder, type TrimResult } from '../core/ledger';
import { formatMiB } from '../core/units';

function describe(r: TrimResult, where: string): string {
  const back = r.returnedBytes;
  const share = r.rssBeforeBytes > 0 ? ` (${((back / r.rssBeforeBytes) * 100).toFixed(0)} % of RSS)` : '';
  const meaning = back > 0
    ? 'That memory was free but kept resident by the allocator: retained, not leaked.'
    : 'Nothing came back: what is resident is in use (or the allocator keeps it where a trim cannot reach).';
  return `${where} (${r.allocator}): RSS ${formatMiB(r.rssBeforeBytes)} -> ${formatMiB(r.rssAfterBytes)}, ${formatMiB(Math.max(0, back))} returned by ${trimCallName(r.allocator)}${share}.\n${meaning}\n`;
}

export function trimCommand(program: Command): void {
  program
    .command('trim')
    .description('ask a running target (started with the probe, e.g. --ledger) to give free memory back (glibc: malloc_trim(0)) and print how much RSS came back')
    .argument('<target>', 'a process id, or the folder of a run that is still going')
    .option('--json', 'print { pid, rssBeforeBytes, rssAfterBytes, returnedBytes }')
    .action(async (target: string, opts: { json?: boolean }) => {
      let result: TrimResult;
      let where: string;
      if (/^\d+$/.test(target)) {
        const pid = Number(target);
        if (!Number.isSafeInteger(pid) || pid <= 0) throw new AlloclabError(`"${target}" is not a process id`, 'input');
        result = await trimProcess(pid);
        where = `process ${pid}`;
      } else {
        const { result: r, env } = await trimRunFolder(target);
        result = r;
        where = `${env.label}, process ${r.pid} (event added to the run's timeline)`;
      }
      const { pid, rssBeforeBytes, rssAfterBytes, returnedBytes } = result;
      process.stdout.write(opts.json ? JSON.stringify({ pid, rssBeforeBytes, rssAfterBytes, returnedBytes }) + '\n' : describe(result, where));
    });
}
