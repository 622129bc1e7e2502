// The RSS ledger under the RSS chart: per environment with probe figures, a stacked area chart of where its
// resident memory goes (live heap, free memory the allocator holds, other anonymous, file-backed), side by side on
// the same axes so allocators compare at a glance. Empty (and hidden) when no environment has ledger samples.
import uPlot from 'uplot';
import { decimateMinMax, hasLedger, ledgerPointsFrom, ledgerTotal, stackLedger, statusFile, type LedgerPoint } from '../src/core/analysis/series';
import type { Sample } from '../src/core/model';
import { formatMiB } from '../src/core/units';
import type { EnvironmentSnapshot } from '../src/protocol/webview';
import type { Theme } from './theme';

const MiB = 1024 * 1024;
const HEIGHT = 200;
const FILL_ALPHA = 0.6;

/** The layers bottom up: label and which theme chart colour draws it. */
const LAYERS: { label: string; colour: (t: Theme) => string }[] = [
  { label: 'live heap', colour: (t) => t.series[2] }, // charts.green
  { label: 'held by allocator', colour: (t) => t.series[1] }, // charts.orange
  { label: 'other anonymous', colour: (t) => t.series[3] }, // charts.purple
  { label: 'file-backed', colour: (t) => t.series[0] }, // charts.blue
];

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

// Theme colours may be any CSS colour; the canvas normalises them so an alpha can be added for the fills.
const scratch = document.createElement('canvas').getContext('2d');
function withAlpha(colour: string, alpha: number): string {
  if (!scratch) return colour;
  scratch.fillStyle = '#000000';
  scratch.fillStyle = colour;
  const v = String(scratch.fillStyle);
  let rgb: number[];
  let a = 1;
  if (v.startsWith('#') && v.length === 7) rgb = [1, 3, 5].map((i) => parseInt(v.slice(i, i + 2), 16));
  else {
    const m = v.match(/[\d.]+/g)?.map(Number) ?? [];
    if (m.length < 3) return colour;
    rgb = m.slice(0, 3);
    a = m[3] ?? 1;
  }
  return `rgba(${rgb.join(', ')}, ${+(a * alpha).toFixed(3)})`;
}

function figures(p: LedgerPoint): string {
  return LAYERS.map((l, i) => {
    const v = [p.liveHeapBytes, p.allocatorHeldBytes, p.otherAnonBytes, p.fileBytes][i];
    return `${l.label} ${formatMiB(v)}`;
  }).join('  ·  ');
}

/** The split of one environment's samples so far (samples[0..n)), and the file-backed figure in force after them. */
interface SplitCache { samples: Sample[]; n: number; points: LedgerPoint[]; file: number | null; maxTotal: number }

interface LedgerPlot {
  box: HTMLElement;
  plotBox: HTMLElement;
  readout: HTMLElement;
  plot: uPlot;
  /** The points drawn (decimated), for the hover read-out. */
  drawn: LedgerPoint[];
  /** Every point, for the read-out at rest (the last one). */
  all: LedgerPoint[];
}

export class LedgerCharts {
  private plots: LedgerPlot[] = [];
  private readonly cache = new Map<number, SplitCache>();
  private theme: Theme | null = null;
  private layoutKey = '';
  /** Shared axes: every chart spans the longest environment and the tallest stack. */
  private xMax = 1;
  private yMax = 1;
  private readonly resize: ResizeObserver;

  constructor(private readonly container: HTMLElement) {
    container.hidden = true;
    this.resize = new ResizeObserver(() => {
      for (const p of this.plots) p.plot.setSize({ width: this.width(p.plotBox), height: HEIGHT });
    });
  }

  /** Draws the environments that have ledger samples; rebuilds when that set or the theme changed. */
  update(envs: EnvironmentSnapshot[], theme: Theme): void {
    const shown = envs.map((e, i) => ({ e, i })).filter(({ e }) => hasLedger(e.samples));
    const key = shown.map(({ e, i }) => `${i}:${e.record.env}/${e.record.label}/${e.record.repetition}`).join('|');
    const split = shown.map(({ e, i }) => this.split(i, e.samples));
    const points = split.map((c) => c.points);
    this.xMax = Math.max(1e-3, ...points.map((p) => (p.at(-1)?.t ?? 0) / 1000));
    this.yMax = Math.max(1, ...split.map((c) => c.maxTotal)) / MiB * 1.05;
    if (key !== this.layoutKey || theme !== this.theme) this.build(shown.map(({ e }) => e), theme, key);
    this.plots.forEach((p, k) => {
      p.all = points[k];
      const data = this.data(p, points[k]);
      p.plot.setData(data as uPlot.AlignedData);
      this.showReadout(p, this.hoveredIndex(p.plot));
      p.box.dataset.points = String(p.drawn.length);
    });
  }

  /**
   * The ledger points of environment `i`. Live samples are appended to the same array, so only the new ones are
   * split; a new array (snapshot) or no status reading yet (the file-backed figure is back-filled) starts over.
   */
  private split(i: number, samples: Sample[]): SplitCache {
    const c = this.cache.get(i);
    if (c && c.samples === samples && samples.length >= c.n && c.file != null) {
      const more = ledgerPointsFrom(samples, c.n, c.file);
      for (const p of more.points) {
        c.points.push(p);
        c.maxTotal = Math.max(c.maxTotal, ledgerTotal(p));
      }
      c.n = samples.length;
      c.file = more.file;
      return c;
    }
    let first: number | null = null;
    for (const s of samples) if ((first = statusFile(s)) != null) break;
    const all = ledgerPointsFrom(samples, 0, first);
    const fresh: SplitCache = { samples, n: samples.length, points: all.points, file: all.file, maxTotal: 0 };
    for (const p of all.points) fresh.maxTotal = Math.max(fresh.maxTotal, ledgerTotal(p));
    this.cache.set(i, fresh);
    return fresh;
  }

  destroy(): void {
    this.resize.disconnect();
    for (const p of this.plots) p.plot.destroy();
    this.plots = [];
  }

  private width(box: HTMLElement): number {
    return Math.max(240, box.clientWidth || 400);
  }

  private data(p: LedgerPlot, points: LedgerPoint[]): number[][] {
    // About two points per pixel column, min/max buckets on the top of the stack so its peaks survive.
    p.drawn = decimateMinMax(points, Math.max(100, this.width(p.plotBox)), ledgerTotal);
    return stackLedger(p.drawn, MiB);
  }

  private build(envs: EnvironmentSnapshot[], theme: Theme, layoutKey: string): void {
    for (const p of this.plots) {
      this.resize.unobserve(p.plotBox);
      p.plot.destroy();
    }
    this.plots = [];
    this.theme = theme;
    this.layoutKey = layoutKey;
    this.container.hidden = envs.length === 0;
    if (!envs.length) {
      this.container.replaceChildren();
      return;
    }
    const key = el('div', 'ledger-key');
    for (const l of LAYERS) {
      const item = el('span', 'ledger-key-item');
      const sw = el('span', 'swatch');
      sw.style.background = l.colour(theme);
      item.append(sw, l.label);
      key.append(item);
    }
    key.append(el('span', 'ledger-key-item ledger-axis', 'x: seconds since each environment started; same axes in every chart'));
    const grid = el('div', 'ledger-grid');
    this.container.replaceChildren(el('h2', undefined, 'RSS ledger: where the resident memory goes'), key, grid);
    const boxes = envs.map((e) => {
      const box = el('div', 'ledger-chart');
      box.dataset.env = e.record.env;
      const plotBox = el('div', 'ledger-plot');
      const readout = el('div', 'ledger-readout');
      box.append(el('div', 'ledger-title', e.record.repetition > 1 ? `${e.record.label} #${e.record.repetition}` : e.record.label), plotBox, readout);
      grid.append(box);
      return { box, plotBox, readout };
    });
    // Sizes are known once the grid is in the document.
    this.plots = boxes.map(({ box, plotBox, readout }) => {
      const p = { box, plotBox, readout, drawn: [], all: [] } as Omit<LedgerPlot, 'plot'> as LedgerPlot;
      p.plot = new uPlot(this.options(theme, p), [[], [], [], [], []], plotBox);
      this.resize.observe(plotBox);
      return p;
    });
  }

  private options(theme: Theme, p: LedgerPlot): uPlot.Options {
    const axis = (label: string): uPlot.Axis => ({
      label, stroke: theme.foreground, font: theme.font, labelFont: theme.font,
      grid: { stroke: theme.grid, width: 1 }, ticks: { stroke: theme.grid, width: 1 },
    });
    const colours = LAYERS.map((l) => l.colour(theme));
    return {
      width: this.width(p.plotBox),
      height: HEIGHT,
      legend: { show: false },
      scales: {
        x: { time: false, range: () => [0, this.xMax] },
        y: { range: () => [0, this.yMax] },
      },
      cursor: { drag: { x: false, y: false, setScale: false }, points: { show: false } },
      // The x label is said once, in the key line: the charts stay short.
      axes: [{ ...axis(''), label: undefined }, { ...axis('MiB'), size: 56 }],
      series: [
        { label: 't' },
        ...LAYERS.map((l, k) => ({
          label: l.label,
          stroke: colours[k],
          width: 1,
          points: { show: false },
          // The bottom layer fills to zero; the others are the bands between consecutive cumulative sums.
          ...(k === 0 ? { fill: withAlpha(colours[k], FILL_ALPHA), fillTo: 0 } : {}),
        })),
      ],
      bands: LAYERS.slice(1).map((_l, k) => ({ series: [k + 2, k + 1] as uPlot.Band.Bounds, fill: withAlpha(colours[k + 1], FILL_ALPHA) })),
      hooks: { setCursor: [(u) => this.showReadout(p, this.hoveredIndex(u))] },
    };
  }

  /** The data index under the mouse, or null when it is not over the plot (live updates keep a hover read-out). */
  private hoveredIndex(u: uPlot): number | null {
    return u.cursor.left != null && u.cursor.left >= 0 ? u.cursor.idx ?? null : null;
  }

  private showReadout(p: LedgerPlot, idx: number | null): void {
    const at = idx != null ? p.drawn[idx] : undefined;
    const last = p.all.at(-1);
    if (at) p.readout.textContent = `t = ${(at.t / 1000).toFixed(1)} s  ·  ${figures(at)}`;
    else if (last) p.readout.textContent = `at the end: ${figures(last)}${last.statusKnown ? '' : '  (no file-backed figure: anon taken as RSS)'}`;
    else p.readout.textContent = '';
  }
}
