// The run panel's hotspot table: built from a run folder's profile.json files, checked by the message guard.
import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { clearPathMapCache, openProfile } from '../../../src/core/profilers';
import { isToWebview } from '../../../src/protocol/webview';
import { panelHotspots } from '../../../src/vscode/panel/panelHotspots';
import { fixtureFromElsewhere, fixturesDir, markerLine, proftestDir } from '../profilers/helpers';

const run = mkdtempSync(path.join(tmpdir(), 'alloclab-panelhot-'));
after(() => rmSync(run, { recursive: true, force: true }));

describe('panel hotspot tables', () => {
  it('one table per profiled environment, ranked, with openable lines and the figures', async () => {
    clearPathMapCache();
    mkdirSync(path.join(run, '1-glibc'));
    mkdirSync(path.join(run, '2-jemalloc'));
    mkdirSync(path.join(run, '3-none'));
    await fixtureFromElsewhere('heaptrack.sites.zst', path.join(run, '1-glibc'));
    writeFileSync(path.join(run, '2-jemalloc', 'profile.json'), JSON.stringify(await openProfile(path.join(fixturesDir, 'massif.out.sites'))));
    const tables = panelHotspots(run, [proftestDir]);
    assert.deepEqual(tables.map((t) => [t.environment, t.backend, t.ranking]), [['1-glibc', 'heaptrack', 'growth'], ['2-jemalloc', 'massif', 'growth']]);
    const top = tables[0].rows[0];
    assert.equal(top.rank, 1);
    assert.equal(top.function, 'leak_step');
    assert.equal(top.line, markerLine('sites.c', 'leak'));
    assert.equal(top.openFile, path.join(proftestDir, 'sites.c'));
    assert.match(top.figures, /MiB\/min · .* allocs · .* at peak · .* not freed at exit$/);
    // massif gives base names: mapped by suffix into the workspace, no allocation counts.
    assert.equal(tables[1].rows[0].openFile, path.join(proftestDir, 'sites.c'));
    assert.doesNotMatch(tables[1].rows[0].figures, /allocs/);
    const msg = { type: 'hotspots', tables };
    assert.equal(isToWebview(JSON.parse(JSON.stringify(msg))), true);
  });

  it('a run without profiles has no table; the guard rejects malformed tables', () => {
    assert.deepEqual(panelHotspots(path.join(run, '3-none'), [proftestDir]), []);
    assert.equal(isToWebview({ type: 'hotspots', tables: [{ environment: 'x', backend: 'b', ranking: 'growth', sampled: false, warnings: [], rows: [{ rank: '1' }] }] }), false);
    assert.equal(isToWebview({ type: 'hotspots', tables: 'no' }), false);
    assert.equal(isToWebview({ type: 'hotspots', tables: [] }), true);
  });
});
