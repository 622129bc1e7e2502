// The run commands of the "Allocator Lab" category (run, watch, compare, the runs view). The command table says
// which of them launch programs; the registration loop checks trust and platform for those.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { deleteRun, listRuns, openRun, type RunSummary } from '../core/runs/store';
import { formatMiB, parseDuration } from '../core/units';
import type { AllocatorInfo } from '../protocol/lsp';
import type { FactoryHandlers } from './commandTable';
import { allocatorOptions, defaultEnvironments, runsDirectory, samplingIntervalMs, workspaceRoot } from './config';
import { Commands, SCENARIO_GLOB, type RunOptions, type RunOutcome, type RunRef } from './constants';
import type { Ctx } from './ctx';
import { runLabel } from './runsView';
import { starterScenario } from './scenarioTemplate';
import { splitArgs } from './argv';
import { compareRunsMarkdown } from './compareRuns';

function allocatorItem(a: AllocatorInfo, picked: boolean): vscode.QuickPickItem & { id: string } {
  return {
    id: a.id,
    label: a.id,
    description: a.available ? a.label : `unavailable: ${a.unavailableReason ?? 'not found'}`,
    detail: a.description,
    picked: picked && a.available,
    iconPath: new vscode.ThemeIcon(a.available ? 'pass' : 'circle-slash'),
  };
}

async function pickEnvironments(ctx: Ctx, preselect: string[]): Promise<string[] | undefined> {
  const all = await ctx.engine.listAllocators(allocatorOptions());
  const picked = await vscode.window.showQuickPick(all.map((a) => allocatorItem(a, preselect.includes(a.id))), {
    canPickMany: true,
    title: 'Allocator environments to compare',
    placeHolder: 'Environments run one after another; unavailable ones say why',
  });
  if (!picked) return undefined;
  const unavailable = picked.filter((p) => !all.find((a) => a.id === p.id)?.available);
  if (unavailable.length) {
    void vscode.window.showWarningMessage(`Skipping unavailable environments: ${unavailable.map((u) => `${u.id} (${u.description})`).join('; ')}`);
  }
  const ids = picked.filter((p) => !unavailable.includes(p)).map((p) => p.id);
  if (!ids.length) {
    void vscode.window.showWarningMessage('Pick at least one available allocator environment.');
    return undefined;
  }
  return ids;
}

async function pickDuration(title: string, initial: string): Promise<number | undefined> {
  const text = await vscode.window.showInputBox({
    title, value: initial, prompt: 'Duration per environment, e.g. 10s, 2m',
    validateInput: (v) => {
      try {
        return parseDuration(v) > 0 ? null : 'must be greater than zero';
      } catch (e) {
        return (e as Error).message;
      }
    },
  });
  return text === undefined ? undefined : parseDuration(text);
}

/**
 * Fixed durations or until settled. Asked only of a user (a caller that passes options decides itself): null when
 * the caller passed options without choosing (the scenario's own setting holds), undefined when the user backed out.
 */
async function pickUntilSettled(opts: RunOptions | undefined): Promise<boolean | null | undefined> {
  if (opts) return opts.untilSettled ?? null;
  const pick = await vscode.window.showQuickPick([
    { label: 'Until settled', description: 'end each phase once its result is decided; durations are upper bounds', value: true },
    { label: 'Fixed durations', description: 'run every phase for its full duration', value: false },
  ], { title: 'How long should each phase run?' });
  return pick?.value;
}

async function pickScenario(): Promise<vscode.Uri | undefined> {
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active?.fsPath.endsWith('.alloclab.json')) return active;
  const files = await vscode.workspace.findFiles(SCENARIO_GLOB, '**/node_modules/**', 200);
  if (!files.length) {
    const a = await vscode.window.showWarningMessage('No *.alloclab.json scenario in this workspace. Create one?', 'New Scenario');
    if (a) await vscode.commands.executeCommand(Commands.NewScenario);
    return undefined;
  }
  if (files.length === 1) return files[0];
  const pick = await vscode.window.showQuickPick(
    files.map((f) => ({ label: path.basename(f.fsPath), description: vscode.workspace.asRelativePath(f), uri: f })),
    { title: 'Run which scenario?' },
  );
  return pick?.uri;
}

async function pickRun(ctx: Ctx, title: string): Promise<RunSummary | undefined> {
  const runs = ctx.runsView.runs();
  if (!runs.length) {
    void vscode.window.showInformationMessage(`No saved runs in ${runsDirectory()}.`);
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    runs.map((r) => ({ label: runLabel(r), description: `${r.kind} · ${r.environments.join(', ')}${r.complete ? '' : ' · incomplete'}`, detail: r.verdict ?? undefined, run: r })),
    { title },
  );
  return pick?.run;
}

function toRunDir(arg: RunRef | vscode.Uri | string | undefined): string | undefined {
  if (!arg) return undefined;
  if (typeof arg === 'string') return arg;
  if (arg instanceof vscode.Uri) return fs.statSync(arg.fsPath).isDirectory() ? arg.fsPath : path.dirname(arg.fsPath);
  return arg.runDir;
}

/** The handlers of the run commands (the "runs" factory of the command table). */
export function runCommandHandlers(ctx: Ctx): FactoryHandlers<'runs'> {
  const run = (title: string, params: Parameters<Ctx['run']>[1], opts?: RunOptions): Promise<RunOutcome> =>
    ctx.run(title, params, { openPanel: !opts?.noPanel });

  return {
    [Commands.RunScenario]: async (uri, opts) => {
      const scenario = uri instanceof vscode.Uri ? uri : await pickScenario();
      if (!scenario) return undefined;
      const untilSettled = await pickUntilSettled(opts);
      if (untilSettled === undefined) return undefined;
      return run(path.basename(scenario.fsPath, '.alloclab.json'), {
        target: { kind: 'scenario', scenarioPath: scenario.fsPath },
        environments: opts?.environments, durationOverrideMs: opts?.durationMs,
        runsDir: runsDirectory(), allocators: allocatorOptions(), ...(untilSettled === null ? {} : { untilSettled }),
      }, opts);
    },

    [Commands.WatchProcess]: async (pidArg, opts) => {
      let pid = typeof pidArg === 'number' ? pidArg : undefined;
      if (pid === undefined) {
        const procs = await ctx.engine.listProcesses();
        const pick = await vscode.window.showQuickPick(
          procs.map((p) => ({ label: String(p.pid), description: formatMiB(p.rssBytes), detail: p.command, pid: p.pid })),
          { title: 'Watch which process? (biggest RSS first)', matchOnDetail: true },
        );
        if (!pick) return undefined;
        pid = pick.pid;
      }
      return run(`watch PID ${pid}`, {
        target: { kind: 'watch', pid, durationMs: opts?.durationMs ?? null },
        runsDir: runsDirectory(), samplingIntervalMs: samplingIntervalMs(),
      }, opts);
    },

    [Commands.CompareAllocators]: async (uri, selected, opts) => {
      let binary = uri instanceof vscode.Uri ? uri : selected?.[0];
      if (!binary) {
        const picked = await vscode.window.showOpenDialog({ title: 'Binary to run under each allocator', canSelectMany: false, defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri });
        binary = picked?.[0];
      }
      if (!binary) return undefined;
      const environments = opts?.environments ?? (await pickEnvironments(ctx, defaultEnvironments()));
      if (!environments) return undefined;
      let args = opts?.args;
      if (!args) {
        const line = await vscode.window.showInputBox({ title: `Arguments for ${path.basename(binary.fsPath)}`, prompt: 'Passed as they are, no shell; quotes group words', value: '' });
        if (line === undefined) return undefined;
        args = splitArgs(line);
      }
      const durationMs = opts?.durationMs ?? (await pickDuration('How long to run it under each allocator (at most, until settled)?', '10s'));
      if (durationMs === undefined) return undefined;
      const untilSettled = await pickUntilSettled(opts);
      if (untilSettled === undefined) return undefined;
      return run(`compare ${path.basename(binary.fsPath)}`, {
        target: { kind: 'compare', command: binary.fsPath, args, cwd: workspaceRoot() ?? path.dirname(binary.fsPath), durationMs },
        environments, runsDir: runsDirectory(), allocators: allocatorOptions(), samplingIntervalMs: samplingIntervalMs(),
        ...(untilSettled === null ? {} : { untilSettled }),
      }, opts);
    },

    [Commands.StopRun]: async () => {
      const sessions = ctx.activeSessions();
      if (!sessions.length) {
        void vscode.window.showInformationMessage('No Allocator Lab run is in progress.');
        return false;
      }
      let target = sessions[0];
      if (sessions.length > 1) {
        const pick = await vscode.window.showQuickPick(sessions.map((s) => ({ label: s.title, description: s.runDir ?? '', s })), { title: 'Stop which run?' });
        if (!pick) return false;
        target = pick.s;
      }
      await target.cancel();
      return true;
    },

    [Commands.OpenRun]: async (arg) => {
      const dir = toRunDir(arg) ?? (await pickRun(ctx, 'Open which run?'))?.dir;
      if (!dir) return;
      try {
        await ctx.viewer.showRun(dir);
      } catch (e) {
        void vscode.window.showErrorMessage(`Allocator Lab: ${(e as Error).message}`);
      }
    },

    [Commands.CompareRuns]: async (first, selected) => {
      let dirs = (selected?.length ? selected : first ? [first] : ctx.runsView.selection()).map((r) => r.runDir);
      while (dirs.length < 2) {
        const pick = await pickRun(ctx, dirs.length ? 'Compare with which run?' : 'First run to compare');
        if (!pick) return;
        if (!dirs.includes(pick.dir)) dirs.push(pick.dir);
      }
      dirs = dirs.slice(0, 2);
      try {
        const [a, b] = dirs.map((d) => openRun(d));
        const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: compareRunsMarkdown(a, b) });
        // An untitled document: the markdown preview cannot resolve it in a remote window, the source reads fine.
        await vscode.window.showTextDocument(doc, { preview: true });
        await ctx.viewer.showRun(a.dir);
        await ctx.viewer.showRun(b.dir);
      } catch (e) {
        void vscode.window.showErrorMessage(`Allocator Lab: ${(e as Error).message}`);
      }
    },

    [Commands.ShowAllocators]: async () => {
      const all = await ctx.engine.listAllocators(allocatorOptions());
      ctx.log.info(`allocators:\n${all.map((a) => `  ${a.available ? '✓' : '✗'} ${a.id.padEnd(20)} ${a.available ? (a.preload ?? a.label) : a.unavailableReason}`).join('\n')}`);
      await vscode.window.showQuickPick(all.map((a) => allocatorItem(a, false)), { title: 'Allocator environments on this machine', canPickMany: false });
    },

    [Commands.NewScenario]: async (folder) => {
      const base = folder?.fsPath ?? workspaceRoot();
      if (!base) {
        void vscode.window.showWarningMessage('Open a folder first: the scenario is written into the workspace.');
        return undefined;
      }
      let file = path.join(base, 'service.alloclab.json');
      for (let i = 2; fs.existsSync(file); i++) file = path.join(base, `service-${i}.alloclab.json`);
      fs.writeFileSync(file, starterScenario(path.basename(file, '.alloclab.json')));
      const uri = vscode.Uri.file(file);
      await vscode.window.showTextDocument(uri);
      return uri;
    },

    [Commands.ShowLivePanel]: () => ctx.viewer.revealLive(),
    [Commands.OpenLog]: () => ctx.log.show(),
    [Commands.RefreshRuns]: () => ctx.runsView.refresh(),

    [Commands.DeleteRun]: async (item, selected, opts) => {
      const refs = selected?.length ? selected : item ? [item] : ctx.runsView.selection();
      if (!refs.length) return 0;
      const active = new Set(ctx.activeSessions().map((s) => s.runDir));
      const dirs = refs.map((r) => r.runDir).filter((d) => !active.has(d));
      if (opts?.confirm !== false) {
        const names = dirs.map((d) => path.basename(d)).join(', ');
        const ok = await vscode.window.showWarningMessage(`Delete ${dirs.length === 1 ? 'run' : `${dirs.length} runs`} ${names}? The folder is removed from disk.`, { modal: true }, 'Delete');
        if (ok !== 'Delete') return 0;
      }
      let n = 0;
      for (const d of dirs) {
        try {
          deleteRun(d);
          n++;
        } catch (e) {
          void vscode.window.showErrorMessage(`Allocator Lab: ${(e as Error).message}`);
        }
      }
      ctx.runsView.refresh();
      return n;
    },

    [Commands.RevealRun]: async (item) => {
      const dir = item?.runDir ?? ctx.runsView.selection()[0]?.runDir ?? (await pickRun(ctx, 'Reveal which run?'))?.dir;
      if (!dir) return;
      await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(path.join(dir, 'run.json')));
    },
  };
}

/** Runs of the runs folder (for tests and the API). */
export function savedRuns(): RunSummary[] {
  return listRuns(runsDirectory());
}
