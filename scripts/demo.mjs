// `npm run demo`: the bundled demo service under every allocator environment of examples/demo.alloclab.json,
// printing the comparison table and the verdict, writing demo-report.html and leaving the run folders.
// Each phase ends once settled (--until-settled; the scenario's durations are upper bounds).
// Flags: --fixed (every phase for its full duration), --short (at most 15 s of load per environment instead of
// 60 s), --env a,b (a subset).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const args = [join(root, 'bin', 'alloclab'), 'run', join(root, 'examples', 'demo.alloclab.json'), '--report', 'demo-report.html'];
if (!argv.includes('--fixed')) args.push('--until-settled');
if (argv.includes('--short')) args.push('--duration', '15s');
const env = argv.indexOf('--env');
if (env >= 0 && argv[env + 1]) args.push('--env', argv[env + 1]);
const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
process.exitCode = r.status ?? 1;
