// The Runs view: saved runs of the runs folder, newest first, with their environments as children. It follows
// the folder on disk (a run written by the CLI shows up too).
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { EnvironmentRecord } from '../core/model';
import { listRuns, openRun, type RunSummary } from '../core/runs/store';
import { formatGrowth, formatMiB } from '../core/units';
import { Commands, type RunRef } from './constants';

export class RunItem extends vscode.TreeItem implements RunRef {
  readonly runDir: string;
  constructor(readonly summary: RunSummary) {
    super(summary.name, vscode.TreeItemCollapsibleState.Collapsed);
    this.runDir = summary.dir;
    this.id = summary.dir;
    const when = new Date(summary.createdAt);
    this.description = `${when.toLocaleString()} · ${summary.kind}${summary.complete ? '' : ' · incomplete'}`;
    this.tooltip = new vscode.MarkdownString(
      `**${summary.name}** (${summary.kind})\n\n${summary.dir}\n\nEnvironments: ${summary.environments.join(', ') || '-'}\n\n` +
      (summary.complete ? '' : '_Incomplete: the run was interrupted._\n\n') + (summary.verdict ?? ''),
    );
    this.contextValue = 'alloclab.run';
    this.iconPath = new vscode.ThemeIcon(summary.complete ? 'graph-line' : 'warning');
    this.resourceUri = vscode.Uri.file(summary.dir);
    this.command = { command: Commands.OpenRun, title: 'Open Run', arguments: [{ runDir: summary.dir }] };
  }
}

export class EnvironmentItem extends vscode.TreeItem {
  constructor(readonly runDir: string, env: EnvironmentRecord) {
    super(env.label || env.env, vscode.TreeItemCollapsibleState.None);
    const m = env.metrics;
    this.description = env.error ? 'failed' : m ? `peak ${formatMiB(m.peakRssBytes)} · ${formatGrowth(m.growthBytesPerMin)}` : '';
    const applied = env.verification ? (env.verification.applied ? 'applied' : `not applied: ${env.verification.notAppliedReason ?? '?'}`) : 'not verified';
    this.tooltip = [
      `${env.env}: ${applied}`,
      m ? `peak ${formatMiB(m.peakRssBytes)}, final ${formatMiB(m.finalRssBytes)}, growth ${formatGrowth(m.growthBytesPerMin)}` : '',
      env.exit ? `exit: ${env.exit.signal ?? env.exit.code}${env.exit.expected ? '' : ' (unexpected)'}` : '',
      env.error ?? '',
    ].filter(Boolean).join('\n');
    this.iconPath = new vscode.ThemeIcon(env.error || (env.exit && !env.exit.expected) ? 'error' : 'circle-filled');
    this.contextValue = 'alloclab.environment';
    this.command = { command: Commands.OpenRun, title: 'Open Run', arguments: [{ runDir }] };
  }
}

type Node = RunItem | EnvironmentItem;

export class RunsView implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private watcher: vscode.FileSystemWatcher | null = null;
  private refreshTimer: NodeJS.Timeout | undefined;
  readonly treeView: vscode.TreeView<Node>;

  constructor(viewId: string, private runsDir: () => string) {
    this.treeView = vscode.window.createTreeView(viewId, { treeDataProvider: this, canSelectMany: true, showCollapseAll: true });
    this.disposables.push(this.treeView);
    this.watch();
  }

  /** Follows a new runs folder (the setting changed). */
  watch(): void {
    this.watcher?.dispose();
    const dir = this.runsDir();
    this.watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(dir), '**/run.json'));
    const later = () => this.refreshSoon();
    this.watcher.onDidCreate(later);
    this.watcher.onDidChange(later);
    this.watcher.onDidDelete(later);
    this.refresh();
  }

  /** Many run.json writes arrive together during a run; one refresh is enough. */
  refreshSoon(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.refresh(), 300);
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(node: Node): vscode.TreeItem {
    return node;
  }

  getChildren(node?: Node): Node[] {
    if (!node) return listRuns(this.runsDir()).map((s) => new RunItem(s));
    if (node instanceof RunItem) {
      try {
        return openRun(node.runDir).record.environments.map((e) => new EnvironmentItem(node.runDir, e));
      } catch {
        return [];
      }
    }
    return [];
  }

  getParent(): undefined {
    return undefined;
  }

  /** The runs currently selected in the view. */
  selection(): RunItem[] {
    return this.treeView.selection.filter((n): n is RunItem => n instanceof RunItem);
  }

  runs(): RunSummary[] {
    return listRuns(this.runsDir());
  }

  dispose(): void {
    clearTimeout(this.refreshTimer);
    this.watcher?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

/** A run folder's name for pickers. */
export function runLabel(s: RunSummary): string {
  return `${s.name} (${path.basename(s.dir)})`;
}
