// The RSS chart: one line per environment, each on its own clock (seconds since that environment started), so runs
// made one after another overlay on one axis. Phases are shaded, debugger stops are vertical markers.
import uPlot from 'uplot';
import { phaseWindows } from '../src/core/analysis/metrics';
import { decimateMinMax, nearestSampleIndex } from '../src/core/analysis/series';
import type { RunEvent } from '../src/core/model';
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
    const data = this.data();
    if (rebuild) {
      this.plot?.destroy();
      this.plot = new uPlot(this.options(theme), data, this.container);
      return;
    }
    const u = this.plot!;
    const prev = u.data[0];
    const xMin = u.scales.x.min, xMax = u.scales.x.max;
    // Keep a zoom the user made while live samples arrive; otherwise follow the data.
    const zoomed = prev.length > 1 && xMin != null && xMax != null && (xMin > prev[0] + 1e-9 || xMax < prev[prev.length - 1] - 1e-9);
    u.setData(data, !zoomed);
    if (zoomed) u.redraw(false);
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

  private data(): uPlot.AlignedData {
    // About two points per pixel column per series is all a line can show; min/max buckets keep the peaks.
    const buckets = Math.max(200, this.width());
    const tables: uPlot.AlignedData[] = this.envs.map((e) => {
      const d = decimateMinMax(e.samples, buckets);
      return [d.map((s) => s.t / 1000), d.map((s) => s.rssBytes / MiB)];
    });
    if (!tables.length) return [[]];
    // join() aligns the per-environment clocks on one x axis; missing points are undefined, which uPlot
    // connects over, so each line stays continuous.
    return uPlot.join(tables);
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
        // Every environment starts at its own t = 0; show that origin even when the first sample comes later.
        x: { time: false, range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(max ?? 1, (min ?? 0) + 1e-3)] },
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
        draw: [(u) => this.drawDebugStops(u)],
        setCursor: [(u) => this.showReadout(u)],
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
        if (ev.type !== 'debug-stop') continue;
        const x = Math.round(u.valToPos(ev.t / 1000, 'x', true));
        ctx.strokeStyle = this.color(i);
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, top + height);
        ctx.stroke();
      }
    });
    ctx.restore();
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
    });
    this.readout.textContent = `t = ${t.toFixed(1)} s  ·  ${parts.join('  ·  ')}`;
  }
}
