// Hotspots in the editor, extension side: the commands (Profile Allocation Sites, Open Profile, Diff Profiles,
// Clear Hotspots, ranking picker, lens and tree glue) and the Hotspots view. The language server owns the active
// profile and serves lenses and hovers; this side asks it to activate, and shows what it answers.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { hasProfiles } from '../../core/profilers/locate';
import type { Ranking } from '../../core/profilers/model';
import { parseDuration } from '../../core/units';
import { Lsp, type BackendInfo, type HotspotsState } from '../../protocol/lsp';
import { splitArgs } from '../argv';
import type { FactoryHandlers } from '../commandTable';
import { allocatorOptions, hotspotSettings, hotspotsRanking, runsDirectory, workspaceRoot } from '../config';
import { Commands, Config, SCENARIO_GLOB, Views, type RunRef } from '../constants';
import type { Ctx } from '../ctx';
import { HotspotsView } from './hotspotsView';

/** The folder holding profile.json for a run reference (a run folder, an environment folder, a file). */
function profilePath(ref: RunRef | vscode.Uri | string): string {
  if (typeof ref === 'string') return ref;
  if (ref instanceof vscode.Uri) return ref.fsPath;
  return ref.runDir;
}

/** Saved runs that hold a profile (in the run folder or an environment folder). */
function profiledRuns(ctx: Ctx): { label: string; description: string; dir: string }[] {
  return ctx.runsView.runs().filter((r) => {
    try {
      return hasProfiles(r.dir);
    } catch {
      return false;
    }
  }).map((r) => ({ label: r.name, description: `${path.basename(r.dir)} · ${r.environments.join(', ')}`, dir: r.dir }));
}

/** Registers the Hotspots view; returns it, what goes to the extension context, and the hotspot commands' handlers. */
export function registerHotspots(ctx: Ctx): { view: HotspotsView; disposables: vscode.Disposable[]; handlers: FactoryHandlers<'hotspots'> } {
  const engine = ctx.engine;
  const view = new HotspotsView(Views.Hotspots);
  // What to re-activate when the engine restarts (it forgets its state) and what Clear forgets.
  let lastActivation: (() => Promise<HotspotsState>) | null = null;

  const activate = async (what: () => Promise<HotspotsState>): Promise<HotspotsState | undefined> => {
    try {
      const state = await what();
      lastActivation = what;
      view.show(state);
      ctx.log.info(`hotspots: ${state.label} (${state.backend}), ${state.hotspots.length} sites by ${state.ranking}`);
      const unlinked = state.hotspots.slice(0, hotspotSettings().top).filter((h) => h.file && !h.workspaceFile).length;
      if (unlinked) {
        void vscode.window.showWarningMessage(`Allocator Lab: ${unlinked} of the top sites name source files that do not exist here; they are shown without links.`, 'Configure sourceFileMap')
          .then((a) => a && vscode.commands.executeCommand(Commands.ConfigureSourceFileMap));
      } else if (state.hotspots.length && state.hotspots.every((h) => !h.file)) {
        // A binary the user did not build gets where its symbols come from, never "rebuild it".
        const symbols = state.warnings.find((w) => w.includes('(tried: '));
        void vscode.window.showWarningMessage(symbols ? `Allocator Lab: ${symbols}` : 'Allocator Lab: the profiled binary has no debug info, so sites are shown by function or address. Rebuild it with -g to see file:line.');
      }
      void vscode.commands.executeCommand(`${Views.Hotspots}.focus`).then(undefined, () => undefined);
      return state;
    } catch (e) {
      void vscode.window.showErrorMessage(`Allocator Lab: ${(e as Error).message}`);
      return undefined;
    }
  };

  const activatePath = (p: string, ranking?: Ranking) => activate(() => engine.request(Lsp.activateProfile, { path: p, settings: hotspotSettings(), ranking: ranking ?? hotspotsRanking() }));

  const pickBackend = async (preset?: string): Promise<BackendInfo | undefined> => {
    const all = await engine.request(Lsp.listBackends, {});
    if (preset) {
      const b = all.find((x) => x.id === preset);
      if (!b) {
        void vscode.window.showErrorMessage(`Allocator Lab: unknown attribution backend "${preset}". Known: ${all.map((x) => x.id).join(', ')}.`);
        return undefined;
      }
      if (!b.available) {
        void vscode.window.showErrorMessage(`Allocator Lab: ${b.id} is not available: ${b.reason}.${b.debianPackage ? ` Install it with \`apt-get install ${b.debianPackage}\`.` : ''}`);
        return undefined;
      }
      return b;
    }
    const pick = await vscode.window.showQuickPick(all.map((b) => ({
      label: b.id,
      description: b.available ? b.label : `not installed: ${b.reason}${b.debianPackage ? ` (apt-get install ${b.debianPackage})` : ''}`,
      detail: `${b.cost}. Ranks by ${(Object.keys(b.capabilities) as Ranking[]).filter((r) => b.capabilities[r]).join(', ')}.`,
      iconPath: new vscode.ThemeIcon(b.available ? 'pass' : 'circle-slash'),
      b,
    })), { title: 'Attribution backend', placeHolder: 'Which profiler records the allocation sites' });
    if (!pick) return undefined;
    if (!pick.b.available) {
      void vscode.window.showErrorMessage(`Allocator Lab: ${pick.b.id} is not available: ${pick.b.reason}.${pick.b.debianPackage ? ` Install it with \`apt-get install ${pick.b.debianPackage}\`.` : ''}`);
      return undefined;
    }
    return pick.b;
  };

  const pickTarget = async (): Promise<vscode.Uri | undefined> => {
    const scenarios = await vscode.workspace.findFiles(SCENARIO_GLOB, '**/node_modules/**', 200);
    const items: (vscode.QuickPickItem & { uri?: vscode.Uri })[] = [
      ...scenarios.map((f) => ({ label: `$(file-code) ${path.basename(f.fsPath)}`, description: vscode.workspace.asRelativePath(f), uri: f })),
      { label: '$(file-binary) Binary…', description: 'run a program for a while, no load' },
    ];
    const pick = await vscode.window.showQuickPick(items, { title: 'Profile which scenario or binary?' });
    if (!pick) return undefined;
    if (pick.uri) return pick.uri;
    const picked = await vscode.window.showOpenDialog({ title: 'Binary to profile (built with -g for source lines)', canSelectMany: false, defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri });
    return picked?.[0];
  };

  const handlers: FactoryHandlers<'hotspots'> = {
    [Commands.ProfileAllocationSites]: async (target, opts) => {
      const uri = target instanceof vscode.Uri ? target : await pickTarget();
      if (!uri) return undefined;
      const backend = await pickBackend(opts?.backend);
      if (!backend) return undefined;
      const isScenario = uri.fsPath.endsWith('.json');
      let args = opts?.args;
      let durationMs = opts?.durationMs;
      if (!isScenario) {
        if (!args) {
          const line = await vscode.window.showInputBox({ title: `Arguments for ${path.basename(uri.fsPath)}`, prompt: 'Passed as they are, no shell; quotes group words', value: '' });
          if (line === undefined) return undefined;
          args = splitArgs(line);
        }
        if (durationMs === undefined) {
          const text = await vscode.window.showInputBox({
            title: 'Profile for how long?', value: '10s', prompt: 'The program is stopped after this (it may exit earlier), e.g. 10s, 1m',
            validateInput: (v) => {
              try {
                return parseDuration(v) > 0 ? null : 'must be greater than zero';
              } catch (e) {
                return (e as Error).message;
              }
            },
          });
          if (text === undefined) return undefined;
          durationMs = parseDuration(text);
        }
      }
      const outcome = await ctx.run(`profile ${path.basename(uri.fsPath)} (${backend.id})`, {
        target: isScenario
          ? { kind: 'profile', backend: backend.id, scenarioPath: uri.fsPath, lgProfInterval: opts?.lgProfInterval }
          : { kind: 'profile', backend: backend.id, command: uri.fsPath, args, cwd: workspaceRoot() ?? path.dirname(uri.fsPath), durationMs, lgProfInterval: opts?.lgProfInterval },
        durationOverrideMs: isScenario ? durationMs : undefined,
        runsDir: runsDirectory(), allocators: allocatorOptions(),
      }, { openPanel: !opts?.noPanel });
      if (!outcome.runDir || outcome.error) return undefined;
      return activatePath(outcome.runDir);
    },

    [Commands.OpenProfile]: async (arg) => {
      let p = arg ? profilePath(arg) : undefined;
      if (!p) {
        const picked = await vscode.window.showOpenDialog({
          title: 'Open a profile: a run folder, heaptrack .zst/.gz, massif.out.*, or a folder of jemalloc .heap dumps',
          canSelectFiles: true, canSelectFolders: true, canSelectMany: false,
          defaultUri: vscode.Uri.file(fs.existsSync(runsDirectory()) ? runsDirectory() : workspaceRoot() ?? process.cwd()),
        });
        p = picked?.[0]?.fsPath;
      }
      if (!p) return undefined;
      return activatePath(p);
    },

    [Commands.DiffProfiles]: async (before, after) => {
      let a = before ? profilePath(before) : undefined;
      let b = after ? profilePath(after) : undefined;
      if (!a || !b) {
        const runs = profiledRuns(ctx);
        if (runs.length < 2) {
          void vscode.window.showInformationMessage('Diff Profiles needs two runs with a profile. Run Profile Allocation Sites twice (before and after a change), or open profiles with Open Profile.');
          return undefined;
        }
        a ??= (await vscode.window.showQuickPick(runs, { title: 'Baseline (before)' }))?.dir;
        if (!a) return undefined;
        b ??= (await vscode.window.showQuickPick(runs.filter((r) => r.dir !== a), { title: 'Compare with (after)' }))?.dir;
        if (!b) return undefined;
      }
      const [x, y] = [a, b];
      return activate(() => engine.request(Lsp.diffProfiles, { before: x, after: y, settings: hotspotSettings() }));
    },

    [Commands.ClearHotspots]: async () => {
      lastActivation = null;
      view.show(null);
      await engine.request(Lsp.clearHotspots, {}).catch(() => undefined);
    },

    [Commands.HotspotsRankBy]: async (ranking) => {
      const state = view.current();
      if (!state) {
        void vscode.window.showInformationMessage('No active profile: run Profile Allocation Sites or Open Profile first.');
        return undefined;
      }
      let r = ranking;
      if (!r) {
        const pick = await vscode.window.showQuickPick(state.rankings.map((x) => ({
          label: x.id, description: x.supported ? (x.id === state.ranking ? 'current' : '') : `unavailable: ${x.reason}`,
          iconPath: new vscode.ThemeIcon(x.supported ? (x.id === state.ranking ? 'check' : 'circle-outline') : 'circle-slash'), x,
        })), { title: 'Rank hotspots by' });
        if (!pick) return undefined;
        if (!pick.x.supported) {
          void vscode.window.showWarningMessage(`Cannot rank by ${pick.x.id}: ${pick.x.reason}.`);
          return undefined;
        }
        r = pick.x.id;
      }
      const next = await engine.request(Lsp.setHotspotOptions, { ranking: r });
      if (next) view.show(next);
      return next ?? undefined;
    },

    [Commands.RevealHotspot]: async (rank) => {
      if (rank != null) await view.reveal(rank);
    },

    [Commands.OpenHotspot]: async (rank, frame) => {
      const site = rank != null ? view.site(rank) : undefined;
      if (!site) return undefined;
      const h = site.hotspot;
      const f = frame != null ? h.frames[frame] : { workspaceFile: h.workspaceFile, line: h.line, file: h.file };
      if (!f?.workspaceFile || f.line == null) {
        if (f?.file) {
          const a = await vscode.window.showWarningMessage(`${f.file} is not in this workspace.`, 'Configure sourceFileMap');
          if (a) await vscode.commands.executeCommand(Commands.ConfigureSourceFileMap);
        }
        return undefined;
      }
      const pos = new vscode.Position(f.line - 1, 0);
      return vscode.window.showTextDocument(vscode.Uri.file(f.workspaceFile), { selection: new vscode.Range(pos, pos), preview: true });
    },

    [Commands.ConfigureSourceFileMap]: async () => {
      await vscode.commands.executeCommand('workbench.action.openSettings', `${Config.Section}.${Config.SourceFileMap}`);
    },
  };

  const disposables: vscode.Disposable[] = [
    view,

    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (!view.current()) return;
      if (e.affectsConfiguration(`${Config.Section}.${Config.SourceFileMap}`) || e.affectsConfiguration(`${Config.Section}.hotspots`) || e.affectsConfiguration('files')) {
        const next = await engine.request(Lsp.setHotspotOptions, { settings: hotspotSettings() }).catch(() => null);
        if (next) view.show(next);
      }
    }),

    // A restarted engine has forgotten the active profile: activate it again.
    ctx.engine.onDidRestart(() => {
      if (lastActivation) void activate(lastActivation);
    }),
  ];
  return { view, disposables, handlers };
}
