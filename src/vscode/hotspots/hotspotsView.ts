// The Hotspots view (site -> stack frames) and the hot-line decorations in visible editors. Both show the
// state the language server computed (HotspotsState); nothing here ranks or maps paths itself.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { describeFrame } from '../../core/profilers/frames';
import type { HotspotFrameInfo, HotspotInfo, HotspotsState } from '../../protocol/lsp';
import { Commands, ContextKeys } from '../constants';

const MAP_HINT = 'The profile names a file that is not in this workspace (recorded on another machine or in another build folder). Map its folder to a local one with the allocatorLab.sourceFileMap setting.';

export class SiteItem extends vscode.TreeItem {
  constructor(readonly hotspot: HotspotInfo, state: HotspotsState) {
    super(`#${hotspot.rank} ${hotspot.function ?? hotspot.address ?? '??'}`, vscode.TreeItemCollapsibleState.Collapsed);
    this.id = `site:${hotspot.rank}`;
    const where = hotspot.file ? `${path.basename(hotspot.file)}:${hotspot.line ?? '?'}` : `in ${path.basename(hotspot.module ?? '?')}`;
    const change = state.baseline ? `Δ ${hotspot.value > 0 ? '+' : ''}${formatValue(hotspot.value, state)} · ` : '';
    this.description = `${where} · ${change}${hotspot.figures}`;
    const linked = !!hotspot.workspaceFile && hotspot.line != null;
    this.contextValue = linked ? 'alloclab.hotspot' : 'alloclab.hotspot.unlinked';
    this.iconPath = new vscode.ThemeIcon(linked ? 'flame' : 'question');
    this.tooltip = new vscode.MarkdownString([
      `**#${hotspot.rank}** ${hotspot.function ?? '??'}`,
      hotspot.file ? `${hotspot.file}:${hotspot.line ?? '?'}` : `no source line: ${hotspot.module ?? 'unknown module'} ${hotspot.address ?? ''} (build with -g for file:line)`,
      hotspot.figures,
      linked ? `Opens ${hotspot.workspaceFile}` : hotspot.file ? MAP_HINT : '',
    ].filter(Boolean).join('\n\n'));
    if (linked) this.command = { command: Commands.OpenHotspot, title: 'Open Hotspot', arguments: [hotspot.rank] };
  }
}

export class FrameItem extends vscode.TreeItem {
  constructor(readonly parent: SiteItem, readonly frame: HotspotFrameInfo, readonly index: number) {
    super(`${index === parent.hotspot.userFrame ? '→ ' : ''}${frame.function ?? '??'}`, vscode.TreeItemCollapsibleState.None);
    this.id = `frame:${parent.hotspot.rank}:${index}`;
    this.description = frame.file ? `${path.basename(frame.file)}:${frame.line ?? '?'}` : frame.module ? path.basename(frame.module) : '';
    const linked = !!frame.workspaceFile && frame.line != null;
    this.iconPath = new vscode.ThemeIcon(frame.system ? 'library' : linked ? 'symbol-function' : 'question');
    this.tooltip = [describeFrame(frame), linked ? '' : frame.file && !frame.system ? MAP_HINT : frame.file ? '' : 'No source line for this frame.'].filter(Boolean).join('\n\n');
    if (linked) this.command = { command: Commands.OpenHotspot, title: 'Open Frame', arguments: [parent.hotspot.rank, index] };
  }
}

type Node = SiteItem | FrameItem;

function formatValue(v: number, state: HotspotsState): string {
  const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
  switch (state.ranking) {
    case 'growth': return `${mib(v)}/min`;
    case 'calls': return String(Math.round(v));
    default: return mib(v);
  }
}

export class HotspotsView implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  readonly treeView: vscode.TreeView<Node>;
  private state: HotspotsState | null = null;
  private sites: SiteItem[] = [];
  private readonly decoration: vscode.TextEditorDecorationType;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor(viewId: string) {
    this.treeView = vscode.window.createTreeView(viewId, { treeDataProvider: this, showCollapseAll: true });
    // One decoration type for the extension's lifetime; stale lines are cleared by setting fewer ranges.
    this.decoration = vscode.window.createTextEditorDecorationType({
      isWholeLine: true,
      backgroundColor: new vscode.ThemeColor('editor.rangeHighlightBackground'),
      overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.warningForeground'),
      overviewRulerLane: vscode.OverviewRulerLane.Right,
    });
    this.disposables.push(this.treeView, this.decoration, vscode.window.onDidChangeVisibleTextEditors(() => this.decorate()));
  }

  /** Shows a new state (null clears the view and the decorations). */
  show(state: HotspotsState | null): void {
    this.state = state;
    this.sites = state ? state.hotspots.map((h) => new SiteItem(h, state)) : [];
    this.treeView.title = state ? `Hotspots by ${state.ranking}` : 'Hotspots';
    this.treeView.description = state ? `${state.label} · ${state.backend}${state.sampled ? ' (sampled)' : ''}` : undefined;
    this.treeView.message = state?.warnings.length ? state.warnings.join(' ') : undefined;
    void vscode.commands.executeCommand('setContext', ContextKeys.HotspotsActive, !!state);
    this.changed.fire(undefined);
    this.decorate();
  }

  current(): HotspotsState | null {
    return this.state;
  }

  site(rank: number): SiteItem | undefined {
    return this.sites.find((s) => s.hotspot.rank === rank);
  }

  /** Reveals a site in the view (the lens command). */
  async reveal(rank: number): Promise<void> {
    const item = this.site(rank);
    if (item) await this.treeView.reveal(item, { select: true, focus: true, expand: true });
  }

  getTreeItem(node: Node): vscode.TreeItem {
    return node;
  }

  getChildren(node?: Node): Node[] {
    if (!node) return this.sites;
    if (node instanceof SiteItem) return node.hotspot.frames.map((f, i) => new FrameItem(node, f, i));
    return [];
  }

  getParent(node: Node): Node | undefined {
    return node instanceof FrameItem ? node.parent : undefined;
  }

  private decorate(): void {
    const byFile = new Map<string, vscode.Range[]>();
    for (const h of this.state?.hotspots ?? []) {
      if (!h.workspaceFile || h.line == null || !(h.value > 0)) continue;
      const list = byFile.get(h.workspaceFile) ?? [];
      list.push(new vscode.Range(h.line - 1, 0, h.line - 1, 0));
      byFile.set(h.workspaceFile, list);
    }
    for (const editor of vscode.window.visibleTextEditors) {
      editor.setDecorations(this.decoration, byFile.get(editor.document.uri.fsPath) ?? []);
    }
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
