// The watchdog process (bundled as dist/workers/watchdog.js, started by os/groups.ts): it holds the read end
// of a pipe from the engine and learns the process groups the engine starts. When the pipe closes (the engine
// exited, crashed or was SIGKILLed: the kernel closes it in every case) it kills those groups and every
// process tagged with the engine's run id (found in /proc/PID/environ: this catches processes that called
// setsid and left their group), then exits. It lives in its own session, so a terminal's Ctrl-C or hang-up
// does not reach it before the engine has had its chance to stop cleanly.
import { killTagged, RUN_ID_VAR, signalGroup } from './groups';
import { isDeadState, listPids, readStat } from './proc';

const [prefix, enginePid] = process.argv.slice(2);
const groups = new Set<number>();
const SWEEP_ROUNDS = 20;
const SWEEP_PAUSE_MS = 100;

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGPIPE'] as const) process.on(sig, () => undefined);

let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  buffered += chunk;
  let nl: number;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    const pgid = Number(line.slice(1));
    if (!Number.isInteger(pgid) || pgid <= 1) continue;
    if (line[0] === '+') groups.add(pgid);
    else if (line[0] === '-') groups.delete(pgid);
  }
});

function livingMembers(): number {
  let n = 0;
  for (const pid of listPids()) {
    const st = readStat(pid);
    if (st && groups.has(st.pgrp) && !isDeadState(st.state)) n++;
  }
  return n;
}

let swept = false;
async function sweep(): Promise<void> {
  if (swept) return;
  swept = true;
  // A process may fork while we kill: sweep until a round finds nothing left.
  for (let round = 0; round < SWEEP_ROUNDS; round++) {
    for (const pgid of groups) signalGroup(pgid, 'SIGKILL');
    // kill() succeeds on a group of zombies (their new parent may be slow to reap): count the living only.
    let found = livingMembers();
    found += killTagged(prefix, [process.pid, Number(enginePid)]);
    if (found === 0 && round > 0) break;
    await new Promise((r) => setTimeout(r, SWEEP_PAUSE_MS));
  }
  process.exit(0);
}

if (!prefix || !prefix.endsWith('-')) {
  process.stderr.write(`watchdog: bad ${RUN_ID_VAR} prefix ${JSON.stringify(prefix)}\n`);
  process.exit(2);
}
process.stdin.on('end', () => void sweep());
process.stdin.on('close', () => void sweep());
process.stdin.on('error', () => void sweep());
