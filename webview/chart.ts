// The RSS chart: one line per environment, each on its own clock (seconds since that environment started), so runs
// made one after another overlay on one axis. Phases are shaded, debugger stops are vertical markers.
import uPlot from 'uplot';
import { phaseWindows } from '../src/core/analysis/metrics';
import { decimateMinMax, nearestSampleIndex } from '../src/core/analysis/series';
import type { RunEvent, Sample } from '../src/core/model';
import type { EnvironmentSnapshot } from '../src/protocol/webview';
import type { Theme } from './theme';

const MiB = 1024 * 1024;
const HEIGHT = 340;

interface Shown { label: string; color: string; visible: boolean }

export class RssChart {
  private plot: uPlot | null = null;
  private envs: EnvironmentSnapshot[] = [];
  private theme: Theme | null = null;
  private hidden = new Set<number>();
  /** The zoomed x window in seconds (null: everything), and the window the drawn data was thinned for. */
  private view: { min: number; max: number } | null = null;
  private thinnedFor: { min: number; max: number } | null = null;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private seriesKey = '';
  private readonly resize: ResizeObserver;

  constructor(private readonly container: HTMLElement, private readonly readout: HTMLElement) {
    this.resize = new ResizeObserver(() => {
      if (this.plot) this.plot.setSize({ width: this.width(), height: HEIGHT });
    });
    this.resize.observe(container);
  }

  /** Colour of environment `i` in the current theme. */
  color(i: number): string {
    const s = this.theme?.series ?? ['#1a85ff'];
    return s[i % s.length];
  }

  isVisible(i: number): boolean {
    return !this.hidden.has(i);
  }

  /** Shows or hides environment `i` (the legend toggles). */
  setVisible(i: number, visible: boolean): void {
    if (visible) this.hidden.delete(i); else this.hidden.add(i);
    this.plot?.setSeries(i + 1, { show: visible });
  }

  /** Draws the given environments; rebuilds the plot when the set of series or the theme changed. */
  update(envs: EnvironmentSnapshot[], theme: Theme): void {
    this.envs = envs;
    const key = envs.map((e) => `${e.record.env}/${e.record.label}`).join('|');
    const rebuild = !this.plot || theme !== this.theme || key !== this.seriesKey;
    this.theme = theme;
    this.seriesKey = key;
    if (rebuild) {
      this.plot?.destroy();
      this.plot = null;
      this.view = null;
      const data = this.data(null);
      this.plot = new uPlot(this.options(theme), data, this.container);
      return;
    }
    // A zoom the user made stays while live samples arrive; otherwise the chart follows the data.
    const u = this.plot!;
    if (this.view == null) u.setData(this.data(null));
    else {
      // setData(.., false) neither rescales nor draws; redraw() re-applies the current window.
      u.setData(this.data(this.view), false);
      u.redraw();
    }
  }

  /** The chart as a PNG data URL, with a legend line above it (for export). */
  toPng(title: string): string {
    const u = this.plot;
    const theme = this.theme;
    if (!u || !theme) throw new Error('nothing drawn yet');
    const src = u.ctx.canvas;
    const ratio = uPlot.pxRatio;
    const head = Math.round(44 * ratio);
    const canvas = document.createElement('canvas');
    canvas.width = src.width;
    canvas.height = src.height + head;
    const ctx = canvas.getContext('2d')!;
    ctx.fillStyle = theme.background;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = theme.foreground;
    ctx.font = `bold ${Math.round(13 * ratio)}px sans-serif`;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'left';
    ctx.fillText(title, 8 * ratio, 12 * ratio);
    ctx.font = `${Math.round(12 * ratio)}px sans-serif`;
    let x = 8 * ratio;
    for (const s of this.shown()) {
      if (!s.visible) continue;
      ctx.fillStyle = s.color;
      ctx.fillRect(x, 26 * ratio, 14 * ratio, 8 * ratio);
      x += 18 * ratio;
      ctx.fillStyle = theme.foreground;
      ctx.fillText(s.label, x, 31 * ratio);
      x += ctx.measureText(s.label).width + 16 * ratio;
    }
    ctx.drawImage(src, 0, head);
    return canvas.toDataURL('image/png');
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }

  private shown(): Shown[] {
    return this.envs.map((e, i) => ({ label: e.record.label, color: this.color(i), visible: this.isVisible(i) }));
  }

  private width(): number {
    return Math.max(300, this.container.clientWidth || 800);
  }

  /**
   * The series thinned for drawing. Zoomed in, the visible window is thinned on its own, so a long run shows its
   * detail; the parts outside stay coarsely, so the full extent (double-click) is still known to the plot.
   */
  private data(view: { min: number; max: number } | null): uPlot.AlignedData {
    // About two points per pixel column per series is all a line can show; min/max buckets keep the peaks.
    const buckets = Math.max(200, this.width());
    const tables: uPlot.AlignedData[] = this.envs.map((e) => {
      let d: Sample[];
      if (!view) {
        d = decimateMinMax(e.samples, buckets);
      } else {
        const s = e.samples;
        // One sample past each edge so the lines run to the border of the plot.
        let a = s.findIndex((x) => x.t / 1000 >= view.min);
        if (a < 0) a = s.length;
        let b = a;
        while (b < s.length && s[b].t / 1000 <= view.max) b++;
        const lo = Math.max(0, a - 1), hi = Math.min(s.length, b + 1);
        d = [...decimateMinMax(s.slice(0, lo), 64), ...decimateMinMax(s.slice(lo, hi), buckets), ...decimateMinMax(s.slice(hi), 64)];
      }
      return [d.map((x) => x.t / 1000), d.map((x) => x.rssBytes / MiB)];
    });
    this.thinnedFor = view;
    if (!tables.length) return [[]];
    // join() aligns the per-environment clocks on one x axis; missing points are undefined, which uPlot
    // connects over, so each line stays continuous.
    return uPlot.join(tables);
  }

  /** The x scale changed (zoom, reset): remember the window and thin the data again for it. */
  private onScale(u: uPlot): void {
    const min = u.scales.x.min, max = u.scales.x.max;
    if (min == null || max == null) return;
    let first = 0, last = 0;
    for (const e of this.envs) {
      if (!e.samples.length) continue;
      first = Math.min(first, e.samples[0].t / 1000);
      last = Math.max(last, e.samples[e.samples.length - 1].t / 1000);
    }
    const eps = Math.max(1e-6, (last - first) * 1e-6);
    this.view = min <= first + eps && max >= last - eps ? null : { min, max };
    const same = (a: typeof this.view, b: typeof this.view) => (a == null ? b == null : b != null && a.min === b.min && a.max === b.max);
    if (same(this.view, this.thinnedFor) || this.refreshTimer) return;
    // Not from inside uPlot's own scale update.
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      if (this.plot !== u) return;
      u.setData(this.data(this.view), false);
      u.redraw();
    }, 0);
  }

  private options(theme: Theme): uPlot.Options {
    const axis = (label: string): uPlot.Axis => ({
      label, stroke: theme.foreground, font: theme.font, labelFont: theme.font,
      grid: { stroke: theme.grid, width: 1 }, ticks: { stroke: theme.grid, width: 1 },
    });
    return {
      width: this.width(),
      height: HEIGHT,
      legend: { show: false },
      scales: {
        // Every environment starts at its own t = 0: show that origin even when the first sample comes later.
        // uPlot also passes a drag-zoom through this function; only the auto range (from the data) is widened.
        x: {
          time: false,
          range: (u, min, max) => {
            const auto = min === u.data[0][0];
            const lo = auto ? Math.min(0, min ?? 0) : min ?? 0;
            return [lo, Math.max(max ?? 1, lo + 1e-3)];
          },
        },
      },
      cursor: { drag: { x: true, y: false, setScale: true }, points: { size: 6 } },
      axes: [
        axis('seconds since the environment started'),
        { ...axis('RSS (MiB)'), size: 64 },
      ],
      series: [
        { label: 't' },
        ...this.envs.map((e, i) => ({
          label: e.record.label,
          stroke: this.color(i),
          width: 1.5,
          show: this.isVisible(i),
          spanGaps: true,
          points: { show: false },
        })),
      ],
      hooks: {
        drawClear: [(u) => this.drawPhases(u)],
        draw: [(u) => { this.drawDebugStops(u); this.countDrawn(u); }],
        setCursor: [(u) => this.showReadout(u)],
        setScale: [(u, key) => { if (key === 'x') this.onScale(u); }],
      },
    };
  }

  private drawPhases(u: uPlot): void {
    const theme = this.theme!;
    // The environments run the same scenario, so one set of phase bands serves all: take the first that has phases.
    const env = this.envs.find((e) => e.events.some((ev) => ev.type === 'phase-start'));
    if (!env) return;
    const windows = phaseWindows(env.events, env.samples.at(-1)?.t ?? 0);
    const { ctx } = u;
    const { top, height, left, width } = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    ctx.font = `${Math.round(11 * uPlot.pxRatio)}px sans-serif`;
    ctx.textBaseline = 'top';
    // uPlot leaves its axis text alignment on the context.
    ctx.textAlign = 'left';
    for (const w of windows) {
      const x0 = u.valToPos(w.startMs / 1000, 'x', true);
      const x1 = u.valToPos(Math.max(w.endMs, w.startMs) / 1000, 'x', true);
      ctx.globalAlpha = w.kind === 'load' ? 0.07 : 0.12;
      ctx.fillStyle = theme.phase[w.kind];
      ctx.fillRect(x0, top, Math.max(1, x1 - x0), height);
      ctx.globalAlpha = 0.9;
      ctx.fillStyle = theme.foreground;
      const tx = Math.max(x0, left);
      if (x1 - tx > 20 * uPlot.pxRatio) ctx.fillText(`${w.phase} (${w.kind})`, tx + 4 * uPlot.pxRatio, top + 4 * uPlot.pxRatio, x1 - tx - 8 * uPlot.pxRatio);
    }
    ctx.restore();
  }

  private drawDebugStops(u: uPlot): void {
    const { ctx } = u;
    const { top, height, left, width } = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    ctx.setLineDash([4 * uPlot.pxRatio, 3 * uPlot.pxRatio]);
    ctx.lineWidth = 1.5 * uPlot.pxRatio;
    this.envs.forEach((e, i) => {
      if (!this.isVisible(i)) return;
      for (const ev of e.events) {
        if (ev.type !== 'debug-stop' && ev.type !== 'trim') continue;
        const x = Math.round(u.valToPos(ev.t / 1000, 'x', true));
        ctx.strokeStyle = this.color(i);
        // A trim: solid, from RSS before down to RSS after, with what came back written beside it.
        ctx.setLineDash(ev.type === 'trim' ? [] : [4 * uPlot.pxRatio, 3 * uPlot.pxRatio]);
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, top + height);
        ctx.stroke();
        if (ev.type === 'trim') {
          ctx.fillStyle = this.color(i);
          ctx.fillText(`trim: ${(Math.max(0, ev.returnedBytes) / MiB).toFixed(1)} MiB back`, x + 4 * uPlot.pxRatio, top + 18 * uPlot.pxRatio);
        }
      }
    });
    ctx.restore();
  }

  /** Publishes how many points the visible window draws (data-points on #chart), for tests and the curious. */
  private countDrawn(u: uPlot): void {
    const xs = u.data[0];
    const min = u.scales.x.min ?? -Infinity, max = u.scales.x.max ?? Infinity;
    let n = 0;
    for (let j = 0; j < xs.length; j++) {
      if (xs[j] < min || xs[j] > max) continue;
      for (let i = 1; i < u.data.length; i++) if (u.data[i][j] != null) n++;
    }
    this.container.dataset.points = String(n);
  }

  private showReadout(u: uPlot): void {
    const left = u.cursor.left;
    if (left == null || left < 0) {
      this.readout.textContent = 'Hover for values; drag to zoom, double-click to reset.';
      return;
    }
    const t = u.posToVal(left, 'x');
    const parts: string[] = [];
    this.envs.forEach((e, i) => {
      if (!this.isVisible(i)) return;
      const k = nearestSampleIndex(e.samples, t * 1000);
      if (k < 0) return;
      parts.push(`${e.record.label}: ${(e.samples[k].rssBytes / MiB).toFixed(1)} MiB`);
      const stop = e.events.find((ev): ev is Extract<RunEvent, { type: 'debug-stop' }> =>
        ev.type === 'debug-stop' && Math.abs(u.valToPos(ev.t / 1000, 'x') - left) < 4);
      if (stop) parts.push(`stopped (${stop.reason}${stop.description ? `: ${stop.description}` : ''})`);
      const trim = e.events.find((ev): ev is Extract<RunEvent, { type: 'trim' }> =>
        ev.type === 'trim' && Math.abs(u.valToPos(ev.t / 1000, 'x') - left) < 4);
      if (trim) parts.push(`trim: RSS ${(trim.rssBeforeBytes / MiB).toFixed(1)} -> ${(trim.rssAfterBytes / MiB).toFixed(1)} MiB`);
    });
    this.readout.textContent = `t = ${t.toFixed(1)} s  ·  ${parts.join('  ·  ')}`;
  }
}
