// The hotspot tables of a run panel: one per environment folder that holds a profile.json, ranked the way the
// editor ranks (growth when the backend supports it). No vscode import, so it is unit tested in plain Node.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { findProfiles, hotspotFigures, localFile, PROFILE_JSON, rankHotspots, readProfileJson, supportedRankings, type Ranking } from '../../core/profilers';
import type { PanelHotspots } from '../../protocol/webview';

/** Rows per table: the panel is an overview; the Hotspots view has them all. */
const TOP = 15;

/** The hotspot tables of a run folder (empty when no environment was profiled or a profile is unreadable). */
export function panelHotspots(runDir: string, workspaceRoots: string[], sourceFileMap: Record<string, string> = {}): PanelHotspots[] {
  const dirs = findProfiles(runDir).map((l) => l.path).filter((d) => existsSync(path.join(d, PROFILE_JSON)));
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
