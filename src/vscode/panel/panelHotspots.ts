// The hotspot tables of a run panel: one per environment folder that holds a profile.json, ranked the way the
// editor ranks (growth when the backend supports it). No vscode import, so it is unit tested in plain Node.
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { PROFILE_JSON, rankHotspots, readProfileJson, supportedRankings, type Ranking } from '../../core/profilers';
import type { PanelHotspots } from '../../protocol/webview';
import { hotspotFigures, localFile } from '../../server/hotspots';

/** Rows per table: the panel is an overview; the Hotspots view has them all. */
const TOP = 15;

/** The hotspot tables of a run folder (empty when no environment was profiled or a profile is unreadable). */
export function panelHotspots(runDir: string, workspaceRoots: string[], sourceFileMap: Record<string, string> = {}): PanelHotspots[] {
  const dirs: string[] = [];
  if (existsSync(path.join(runDir, PROFILE_JSON))) dirs.push(runDir);
  else if (existsSync(runDir)) {
    for (const n of readdirSync(runDir).sort()) {
      const d = path.join(runDir, n);
      if (statSync(d).isDirectory() && existsSync(path.join(d, PROFILE_JSON))) dirs.push(d);
    }
  }
  const out: PanelHotspots[] = [];
  for (const d of dirs) {
    try {
      const profile = readProfileJson(path.join(d, PROFILE_JSON));
      const ranking: Ranking = profile.capabilities.growth ? 'growth' : supportedRankings(profile)[0] ?? 'peak';
      const rows = rankHotspots(profile, ranking, { top: TOP, windows: profile.windows });
      const settings = { workspaceRoots, sourceFileMap, top: TOP };
      out.push({
        environment: path.basename(d), backend: profile.backend, ranking, sampled: profile.sampled, warnings: profile.warnings,
        rows: rows.map((h) => ({
          rank: h.rank, function: h.function, file: h.file, line: h.line,
          openFile: h.line != null ? localFile(h.file, settings) : null,
          figures: hotspotFigures(h, profile.capabilities, profile.sampled),
        })),
      });
    } catch {
      // A profile being written or from a newer version: the panel shows the run without its table.
    }
  }
  return out;
}
