// Hotspots in the editor, server side: the active profile (or diff of two), ranked and mapped to workspace files,
// served as CodeLenses on hot lines and hovers with the full stack. Kept apart from the connection (plain inputs,
// LSP-shaped outputs) so it is unit tested without VS Code; server.ts wires it to requests.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CodeLens, DocumentSelector, Hover } from 'vscode-languageserver';
import { AlloclabError } from '../core/errors';
import {
  diffProfiles, findProfiles, formatCount, getBackend, hotspotFigures, isSystemFrame, listBackends, localFile, openProfile, rankHotspots, RANKINGS, resolveSourceFile,
  supportedRankings, describeFrame, type AllocationProfile, type AttributionBackend, type Hotspot, type Ranking,
} from '../core/profilers';
import { formatGrowth, formatMiB } from '../core/units';
import {
  HOTSPOT_LENS_COMMAND, type BackendInfo, type HotspotFrameInfo, type HotspotInfo, type HotspotSettings, type HotspotsState, type RankingInfo,
} from '../protocol/lsp';

/** Source file extensions served besides the c/cpp language ids (headers and sources by extension). */
export const SOURCE_EXTENSIONS = ['c', 'cc', 'cpp', 'cxx', 'c++', 'h', 'hh', 'hpp', 'hxx', 'inl', 'ipp', 'tcc'];

/** The documents lenses and hovers are served for: C and C++ by language id, and sources by extension. */
export function hotspotDocumentSelector(): DocumentSelector {
  return [
    { language: 'c', scheme: 'file' },
    { language: 'cpp', scheme: 'file' },
    { scheme: 'file', pattern: `**/*.{${SOURCE_EXTENSIONS.join(',')}}` },
  ];
}

/** The local path of a file: URI, or null for other schemes. */
export function uriToPath(uri: string): string | null {
  if (!uri.startsWith('file://')) return null;
  try {
    return fileURLToPath(uri);
  } catch {
    return null;
  }
}

interface LoadedProfile {
  label: string;
  profile: AllocationProfile;
}

interface Active {
  source: string;
  label: string;
  /** The first is the one ranked; the others (a run's other environments) add their figures to hovers. */
  profiles: LoadedProfile[];
  baseline: LoadedProfile | null;
}

const DEFAULT_SETTINGS: HotspotSettings = { sourceFileMap: {}, workspaceRoots: [], top: 20 };

/** The profiles of a path: a run folder holds one per environment folder; anything else is one profile. */
export async function loadProfiles(p: string): Promise<{ source: string; label: string; profiles: LoadedProfile[] }> {
  const abs = path.resolve(p);
  if (!existsSync(abs)) throw new AlloclabError(`${abs} does not exist. Open a run folder, profile.json, a heaptrack .zst/.gz, a massif.out.* file or a folder of jemalloc .heap dumps.`, 'input');
  const found = findProfiles(abs);
  const profiles = await Promise.all(found.map(async (l) => ({ label: l.label, profile: await openProfile(l.path) })));
  // A run folder is named by itself; a single profile by its folder (or file).
  return { source: abs, label: found[0].path !== abs ? path.basename(abs) : found[0].label, profiles };
}

function frameInfo(f: Hotspot['frames'][number], settings: HotspotSettings): HotspotFrameInfo {
  return {
    function: f.function, file: f.file, line: f.line, module: f.module, address: f.address,
    workspaceFile: localFile(f.file, settings), system: isSystemFrame(f),
  };
}

function rankingInfo(profile: AllocationProfile): RankingInfo[] {
  return RANKINGS.map((id) => ({
    id,
    supported: profile.capabilities[id],
    reason: profile.capabilities[id] ? null : `the ${profile.backend} backend does not record ${id === 'calls' ? 'allocation counts' : id === 'leaked' ? 'what is left at exit' : id}; profile with heaptrack for every ranking`,
  }));
}

// Environments compare by function and base name + line: their profiles may name the file differently.
function lineKey(h: { function: string | null; file: string | null; line: number | null; address?: string | null }): string {
  return `${h.function ?? h.address ?? ''}@${path.basename(h.file ?? '')}:${h.line ?? ''}`;
}

/** The hotspot state and the lenses and hovers derived from it. */
export class HotspotService {
  private active: Active | null = null;
  private ranking: Ranking | null = null;
  private settings: HotspotSettings = DEFAULT_SETTINGS;
  private view: HotspotsState | null = null;
  /** Workspace file -> hotspots whose user frame is in it. */
  private byFile = new Map<string, HotspotInfo[]>();
  /** Per environment: its sites by line key, ranked once (hovers look them up). */
  private perEnv = new Map<LoadedProfile, Map<string, Hotspot>>();

  /** `onChange` hears every change of the active profile (the server sends workspace/codeLens/refresh). */
  constructor(private readonly onChange: () => void = () => undefined) {}

  /** Makes the profile(s) at `p` the active ones. */
  async activate(p: string, settings: HotspotSettings, ranking?: Ranking): Promise<HotspotsState> {
    const loaded = await loadProfiles(p);
    this.active = { ...loaded, baseline: null };
    this.perEnv = new Map();
    this.settings = settings;
    this.ranking = ranking ?? null;
    return this.recompute();
  }

  /** Makes the difference `after` - `before` the active view (which sites grew). */
  async diff(before: string, after: string, settings: HotspotSettings, ranking?: Ranking): Promise<HotspotsState> {
    const [a, b] = await Promise.all([loadProfiles(before), loadProfiles(after)]);
    this.perEnv = new Map();
    this.active = { source: b.source, label: `${a.label} → ${b.label}`, profiles: b.profiles.slice(0, 1), baseline: { label: a.label, profile: a.profiles[0].profile } };
    this.settings = settings;
    this.ranking = ranking ?? null;
    return this.recompute();
  }

  setOptions(opts: { ranking?: Ranking; settings?: HotspotSettings }): HotspotsState | null {
    if (opts.settings) this.settings = opts.settings;
    if (opts.ranking) this.ranking = opts.ranking;
    return this.active ? this.recompute() : null;
  }

  clear(): void {
    const had = this.active != null;
    this.active = null;
    this.view = null;
    this.byFile.clear();
    if (had) this.onChange();
  }

  state(): HotspotsState | null {
    return this.view;
  }

  private recompute(): HotspotsState {
    const a = this.active!;
    const main = a.profiles[0].profile;
    const both = a.baseline ? [a.baseline.profile, main] : [main];
    const usable = RANKINGS.filter((r) => both.every((p) => p.capabilities[r]));
    // A diff compares peaks by default (growth of two short runs is noisy); a single profile ranks by growth.
    const preferred: Ranking = this.ranking ?? (a.baseline ? 'peak' : 'growth');
    const ranking = usable.includes(preferred) ? preferred : (usable[0] ?? supportedRankings(main)[0] ?? 'peak');
    const windows = main.windows;
    let hotspots: HotspotInfo[];
    if (a.baseline) {
      hotspots = diffProfiles(a.baseline.profile, main, ranking, { windows }).map((d, i) => {
        const h = (d.after ?? d.before)!;
        return { ...this.info(h, main), rank: i + 1, value: d.delta, before: d.before?.value ?? null, after: d.after?.value ?? null };
      });
    } else {
      hotspots = rankHotspots(main, ranking, { windows }).map((h) => this.info(h, main));
    }
    const warnings = [...main.warnings];
    const linked = hotspots.filter((h) => h.workspaceFile).length;
    const withFile = hotspots.filter((h) => h.file).length;
    if (withFile > linked) {
      warnings.push(`${withFile - linked} of ${withFile} sites name source files that are not in this workspace (a profile from another machine or build folder?). Map their folders with the allocatorLab.sourceFileMap setting.`);
    }
    const ambiguous = hotspots.map((h) => resolveSourceFile(h.file, this.settings)).filter((r) => r.ambiguous.length);
    if (ambiguous.length) {
      const first = ambiguous[0].ambiguous;
      warnings.push(`${ambiguous.length} site${ambiguous.length > 1 ? 's name files' : ' names a file'} that several workspace files match equally well (${path.basename(first[0])}: ${first.join(', ')}), so they are not linked. Map the right folder with the allocatorLab.sourceFileMap setting.`);
    }
    // probe-sampled looked for symbols itself and says per module what it tried and how to get them.
    if (hotspots.length && hotspots.every((h) => !h.file) && !main.modules) {
      warnings.push('No site has a source line: the binary has no debug info. Sites are named by function or address; rebuild with -g (e.g. CFLAGS="-g -O2") for file:line.');
    }
    this.view = {
      source: a.source, label: a.label, backend: main.backend, ranking, rankings: rankingInfo(main).map((r) => ({ ...r, supported: usable.includes(r.id) })),
      sampled: main.sampled, baseline: a.baseline ? a.baseline.label : null, environments: a.profiles.map((p) => p.label), hotspots, warnings,
    };
    this.byFile = new Map();
    for (const h of hotspots.slice(0, this.settings.top)) {
      if (!h.workspaceFile || h.line == null || !(h.value > 0)) continue;
      const key = path.resolve(h.workspaceFile);
      const list = this.byFile.get(key) ?? [];
      list.push(h);
      this.byFile.set(key, list);
    }
    this.onChange();
    return this.view;
  }

  private info(h: Hotspot, profile: AllocationProfile): HotspotInfo {
    const frames = h.frames.map((f) => frameInfo(f, this.settings));
    const user = frames[h.userFrame];
    return {
      rank: h.rank, value: h.value, function: h.function, file: h.file, line: h.line, module: h.module, address: h.address,
      workspaceFile: user?.workspaceFile ?? localFile(h.file, this.settings),
      growthBytesPerMin: h.growthBytesPerMin, peakBytes: h.peakBytes, allocations: h.allocations, leakedBytes: h.leakedBytes,
      figures: hotspotFigures(h, profile.capabilities, profile.sampled), frames, userFrame: h.userFrame,
    };
  }

  private environmentSites(p: LoadedProfile): Map<string, Hotspot> {
    let m = this.perEnv.get(p);
    if (!m) {
      m = new Map();
      const by = p.profile.capabilities.peak ? 'peak' : supportedRankings(p.profile)[0];
      for (const x of by ? rankHotspots(p.profile, by, { windows: p.profile.windows }) : []) if (!m.has(lineKey(x))) m.set(lineKey(x), x);
      this.perEnv.set(p, m);
    }
    return m;
  }

  /** The hot sites whose line is in this file (absolute path). */
  sitesIn(file: string): HotspotInfo[] {
    return this.byFile.get(path.resolve(file)) ?? [];
  }

  /** CodeLenses for a document (0-based lines), one per hot line. */
  codeLenses(file: string): CodeLens[] {
    const v = this.view;
    if (!v) return [];
    return this.sitesIn(file).map((h) => {
      const line = h.line! - 1;
      const title = v.baseline
        ? `Allocator Lab #${h.rank}: ${v.ranking} ${this.deltaText(h)} since ${v.baseline}`
        : `Allocator Lab #${h.rank}: ${h.figures}`;
      return {
        range: { start: { line, character: 0 }, end: { line, character: 0 } },
        command: { title, command: HOTSPOT_LENS_COMMAND, arguments: [h.rank] },
      };
    });
  }

  private deltaText(h: HotspotInfo): string {
    const fmt = (v: number | null | undefined) => (v == null ? '-' : this.view!.ranking === 'calls' ? formatCount(v) : this.view!.ranking === 'growth' ? formatGrowth(v) : formatMiB(v));
    return `${h.value > 0 ? '+' : ''}${fmt(h.value)} (${fmt(h.before)} → ${fmt(h.after)})`;
  }

  /** The hover for a 0-based line: every hot site there, its figures per environment and its full stack. */
  hover(file: string, line0: number): Hover | null {
    const v = this.view;
    const a = this.active;
    if (!v || !a) return null;
    const here = this.sitesIn(file).filter((h) => h.line === line0 + 1);
    if (!here.length) return null;
    const sections: string[] = [];
    const esc = (t: string) => t.replace(/[\\`*_[\]<>|]/g, (c) => `\\${c}`);
    for (const h of here) {
      const parts: string[] = [];
      parts.push(`**Allocator Lab hotspot #${h.rank}** by ${v.ranking} (${v.backend}${v.sampled ? ', sampled estimates' : ''}) in \`${v.label}\``);
      if (v.baseline) parts.push(`Change since ${esc(v.baseline)}: ${this.deltaText(h)}`);
      const rows = a.profiles.map((p) => {
        const match = this.environmentSites(p).get(lineKey(h));
        const figures = match && hotspotFigures(match, p.profile.capabilities, p.profile.sampled);
        return `| ${esc(p.label)} | ${match ? figures || '-' : 'not seen'} |`;
      });
      parts.push(['| environment | figures |', '|---|---|', ...rows].join('\n'));
      // Frames in the workspace link to their line; the others are shown as the profile names them.
      const stack = h.frames.map((f, i) => {
        const text = esc(describeFrame(f));
        const shown = f.workspaceFile && f.line ? `[${text}](${pathToFileURL(f.workspaceFile).href}#L${f.line})` : text;
        return `${i === h.userFrame ? '**→** ' : ''}${i}. ${shown}${f.system ? ' *(library)*' : ''}`;
      });
      parts.push(`Stack (innermost first):\n\n${stack.join('  \n')}`);
      sections.push(parts.join('\n\n'));
    }
    return { contents: { kind: 'markdown', value: sections.join('\n\n---\n\n') } };
  }
}

/** Every attribution backend with its availability on this machine. */
export function describeBackends(): BackendInfo[] {
  return listBackends().map((b) => {
    const av = b.available();
    return { id: b.id, label: b.label, cost: b.cost, capabilities: { ...b.capabilities }, available: av.ok, reason: av.reason, debianPackage: av.debianPackage };
  });
}

/** The backend for a profile run, refused with the Debian package to install when it is missing. */
export function backendForRun(id: string, lgProfInterval?: number): AttributionBackend {
  const b = getBackend(id, { jemalloc: lgProfInterval != null ? { lgProfInterval } : undefined });
  const av = b.available();
  if (!av.ok) throw new AlloclabError(`Attribution backend "${id}" is not available: ${av.reason}.${av.debianPackage ? ` Install it with \`apt-get install ${av.debianPackage}\`.` : ''}`, 'input');
  return b;
}

