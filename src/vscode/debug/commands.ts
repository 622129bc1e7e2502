// The debugging commands: start a launch configuration under an allocator, snapshot a paused debuggee, compare
// two snapshots, show a session's live memory in the run panel.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { diffSnapshots, ENVIRONMENT_KEY, envShapeOf, parseSnapshots, SNAPSHOTS_FILE, type MemorySnapshot } from '../../core/debug';
import { openRun } from '../../core/runs/store';
import { formatMiB } from '../../core/units';
import type { FactoryHandlers } from '../commandTable';
import { allocatorOptions } from '../config';
import { Commands } from '../constants';
import type { Ctx } from '../ctx';
import type { DebugSessions } from './tracker';

interface LaunchEntry {
  config: vscode.DebugConfiguration;
  folder: vscode.WorkspaceFolder | undefined;
}

function launchConfigurations(): LaunchEntry[] {
  const out: LaunchEntry[] = [];
  const folders = vscode.workspace.workspaceFolders ?? [];
  for (const folder of folders) {
    const list = vscode.workspace.getConfiguration('launch', folder.uri).get<vscode.DebugConfiguration[]>('configurations', []);
    for (const c of list) if (c && typeof c === 'object' && c.type) out.push({ config: c, folder });
  }
  return out;
}

/** Snapshots of a run: its environment folder's snapshots.ndjson. */
function snapshotsOf(runDir: string): MemorySnapshot[] {
  const run = openRun(runDir);
  const dir = run.record.environments[0]?.dir;
  if (!dir) return [];
  const file = path.join(runDir, dir, SNAPSHOTS_FILE);
  return fs.existsSync(file) ? parseSnapshots(fs.readFileSync(file, 'utf8')) : [];
}

export function snapshotDiffMarkdown(a: MemorySnapshot, b: MemorySnapshot): string {
  const rows = diffSnapshots(a, b).map((r) => `| ${r.field} | ${formatMiB(r.before)} | ${formatMiB(r.after)} | ${r.delta === null ? '-' : `${r.delta >= 0 ? '+' : '−'}${formatMiB(Math.abs(r.delta))}`} |`);
  return [
    `# Memory snapshots: ${a.label || a.at} → ${b.label || b.at}`, '',
    `PID ${a.pid}${a.pid !== b.pid ? ` → ${b.pid}` : ''}; taken ${a.at} and ${b.at}.`, '',
    '| | before | after | difference |', '|---|---:|---:|---:|', ...rows, '',
  ].join('\n');
}

const SNAPSHOT_DIFF_SCHEME = 'alloclab-snapshots';
const diffDocuments = new Map<string, string>();

/** The snapshot comparison documents the debugging commands open. */
export function registerSnapshotDocuments(): vscode.Disposable[] {
  return [
    vscode.workspace.registerTextDocumentContentProvider(SNAPSHOT_DIFF_SCHEME, {
      provideTextDocumentContent: (uri) => diffDocuments.get(uri.toString()) ?? 'This comparison is gone (the window was reloaded); run "Allocator Lab: Compare Snapshots…" again.',
    }),
    { dispose: () => diffDocuments.clear() },
  ];
}

/** The handlers of the debugging commands (the "debug" factory of the command table). */
export function debugCommandHandlers(ctx: Ctx, sessions: DebugSessions): FactoryHandlers<'debug'> {
  return {
    [Commands.DebugWithAllocator]: async (configName, environment) => {
      const entries = launchConfigurations().filter((e) => e.config.request === 'launch');
      if (!entries.length) {
        void vscode.window.showWarningMessage('No launch configuration in this workspace. Add one to .vscode/launch.json (e.g. of type "alloclab-lldb", "cppdbg" or "lldb").');
        return false;
      }
      let entry = configName ? entries.find((e) => e.config.name === configName) : undefined;
      if (configName && !entry) {
        void vscode.window.showErrorMessage(`No launch configuration named "${configName}".`);
        return false;
      }
      if (!entry) {
        const pick = await vscode.window.showQuickPick(entries.map((e) => ({
          label: e.config.name, description: e.config.type,
          detail: envShapeOf(e.config.type) ? undefined : `Allocator Lab does not know how ${e.config.type} passes environment variables`,
          entry: e,
        })), { title: 'Debug which launch configuration?' });
        if (!pick) return false;
        entry = pick.entry;
      }
      let envId = environment;
      if (!envId) {
        const all = await ctx.engine.listAllocators(allocatorOptions());
        const pick = await vscode.window.showQuickPick(all.map((a) => ({
          label: a.id, description: a.available ? a.label : `unavailable: ${a.unavailableReason ?? 'not found'}`, detail: a.description,
          iconPath: new vscode.ThemeIcon(a.available ? 'pass' : 'circle-slash'), available: a.available,
        })), { title: `Debug "${entry.config.name}" under which allocator?` });
        if (!pick) return false;
        if (!pick.available) {
          void vscode.window.showWarningMessage(`${pick.label} is not available here: ${pick.description}`);
          return false;
        }
        envId = pick.label;
      }
      return vscode.debug.startDebugging(entry.folder, { ...entry.config, [ENVIRONMENT_KEY]: envId });
    },

    [Commands.MemorySnapshot]: async (labelArg) => {
      const run = sessions.runOf() ?? sessions.all()[0];
      if (!run) {
        void vscode.window.showInformationMessage('Allocator Lab: start a debug session (and pause it) to take a memory snapshot.');
        return undefined;
      }
      let label = labelArg;
      if (label === undefined) {
        label = await vscode.window.showInputBox({ title: 'Snapshot label', value: `snapshot ${new Date().toLocaleTimeString()}`, prompt: 'Names the snapshot in the run and in comparisons' });
        if (label === undefined) return undefined;
      }
      try {
        const snap = run.snapshot(label);
        void vscode.window.showInformationMessage(`Allocator Lab: snapshot "${label}": RSS ${formatMiB(snap.rssBytes)} (anon ${formatMiB(snap.anonBytes)}, file ${formatMiB(snap.fileBytes)}, PSS ${formatMiB(snap.pssBytes)}).`);
        return snap;
      } catch (e) {
        ctx.log.warn(`[debug ${run.session.name}] snapshot failed: ${(e as Error).message}`);
        void vscode.window.showErrorMessage(`Allocator Lab: ${(e as Error).message}`);
        return undefined;
      }
    },

    [Commands.CompareSnapshots]: async (runRef, picks) => {
      let runDir = runRef?.runDir ?? sessions.runOf()?.runDir ?? undefined;
      if (!runDir) {
        const candidates = ctx.runsView.runs().filter((r) => r.kind === 'debug');
        const pick = await vscode.window.showQuickPick(candidates.map((r) => ({ label: r.name, description: r.createdAt, dir: r.dir })), { title: 'Snapshots of which debug run?' });
        if (!pick) return undefined;
        runDir = pick.dir;
      }
      let snaps: MemorySnapshot[];
      try {
        snaps = snapshotsOf(runDir);
      } catch (e) {
        void vscode.window.showErrorMessage(`Allocator Lab: ${(e as Error).message}`);
        return undefined;
      }
      if (snaps.length < 2) {
        void vscode.window.showInformationMessage(`Allocator Lab: ${snaps.length} snapshot(s) in this run; take two with "Allocator Lab: Memory Snapshot" while paused.`);
        return undefined;
      }
      let [ia, ib] = picks ?? [-1, -1];
      if (!picks) {
        const items = snaps.map((s, i) => ({ label: s.label || s.at, description: `RSS ${formatMiB(s.rssBytes)}`, detail: s.at, i }));
        const a = await vscode.window.showQuickPick(items, { title: 'First snapshot (before)' });
        if (!a) return undefined;
        const b = await vscode.window.showQuickPick(items.filter((x) => x.i !== a.i), { title: 'Second snapshot (after)' });
        if (!b) return undefined;
        [ia, ib] = [a.i, b.i];
      }
      if (!snaps[ia] || !snaps[ib]) {
        void vscode.window.showErrorMessage(`Allocator Lab: snapshot numbers ${ia}, ${ib} out of range (0..${snaps.length - 1}).`);
        return undefined;
      }
      const md = snapshotDiffMarkdown(snaps[ia], snaps[ib]);
      // A read-only document: an untitled one would be dirty, and debug.saveBeforeStart then stalls the next launch.
      const uri = vscode.Uri.from({ scheme: SNAPSHOT_DIFF_SCHEME, path: `/${path.basename(runDir)}/${ia}-${ib}.md` });
      diffDocuments.set(uri.toString(), md);
      const doc = await vscode.workspace.openTextDocument(uri);
      await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
      await vscode.window.showTextDocument(doc, { preview: true, preserveFocus: true });
      return md;
    },

    [Commands.ShowDebugMemory]: () => {
      const run = sessions.runOf() ?? sessions.all()[0];
      if (!run) {
        ctx.viewer.revealLive();
        return;
      }
      run.mirror();
    },
  };
}
