// The RSS ledger under the RSS chart: per environment with probe figures, a stacked area chart of where its
// resident memory goes (live heap, free memory the allocator holds, thread stacks, allocator metadata, direct
// mmaps, lazily freed pages, the probe, other anonymous, file-backed), side by side on the same axes so
// allocators compare at a glance. While a run is live, anonymous memory whose allocator figures are over 1 s old
// is drawn hatched as "unknown"; a stored run interpolates between fresh figures. Empty (and hidden) when no
// environment has ledger samples.
import uPlot from 'uplot';
import {
  COVERAGE_TOLERANCE, decimateMinMax, hasLedger, LEDGER_LAYERS, ledgerCoverage, ledgerPoints, ledgerPointsFrom, ledgerTotal, stackLedger,
  statusFile, type LedgerLayer, type LedgerPoint,
} from '../src/core/analysis/series';
import type { Sample } from '../src/core/model';
import { formatMiB } from '../src/core/units';
import type { EnvironmentSnapshot } from '../src/protocol/webview';
import type { Theme } from './theme';

const MiB = 1024 * 1024;
const HEIGHT = 200;
const FILL_ALPHA = 0.6;

/** The layers bottom up (LEDGER_LAYERS order): label and which theme chart colour draws it. */
const LAYER_STYLE: Record<LedgerLayer, { label: string; colour: (t: Theme) => string }> = {
  liveHeapBytes: { label: 'live heap', colour: (t) => t.series[2] }, // charts.green
  allocatorHeldBytes: { label: 'held by allocator', colour: (t) => t.series[1] }, // charts.orange
  threadStacksBytes: { label: 'thread stacks', colour: (t) => t.series[6] },
  allocatorMetadataBytes: { label: 'allocator metadata', colour: (t) => t.series[5] }, // charts.yellow
  directMmapBytes: { label: 'direct mmap', colour: (t) => t.series[10] },
  lazyFreeBytes: { label: 'lazily freed', colour: (t) => t.series[8] },
  probeOverheadBytes: { label: 'probe', colour: (t) => t.series[9] },
  otherAnonBytes: { label: 'other anonymous', colour: (t) => t.series[3] }, // charts.purple
  unknownBytes: { label: 'unknown (figures over 1 s old)', colour: (t) => t.foreground },
  fileBytes: { label: 'file-backed', colour: (t) => t.series[0] }, // charts.blue
};
const LAYERS = LEDGER_LAYERS.map((k) => ({ key: k, ...LAYER_STYLE[k] }));
const UNKNOWN = LEDGER_LAYERS.indexOf('unknownBytes');

/** Diagonal stripes in `colour`: the "unknown" band must not read as any measured category. */
function hatch(colour: string): CanvasPattern | string {
  const c = document.createElement('canvas');
  c.width = c.height = 8;
  const g = c.getContext('2d');
  if (!g) return withAlpha(colour, 0.25);
  g.strokeStyle = withAlpha(colour, 0.55);
  g.lineWidth = 1.5;
  g.beginPath();
  g.moveTo(0, 8);
  g.lineTo(8, 0);
  g.moveTo(-2, 2);
  g.lineTo(2, -2);
  g.moveTo(6, 10);
  g.lineTo(10, 6);
  g.stroke();
  return g.createPattern(c, 'repeat') ?? withAlpha(colour, 0.25);
}

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

/** The read-out of one point: the layers it has (the small ones only when not zero). */
function figures(p: LedgerPoint): string {
  if (p.figures === 'unknown') {
    return `live heap ${formatMiB(p.liveHeapBytes)}  ·  unknown ${formatMiB(p.unknownBytes)} (the allocator's figures were over 1 s old)  ·  file-backed ${formatMiB(p.fileBytes)}`;
  }
  const always = new Set<LedgerLayer>(['liveHeapBytes', 'allocatorHeldBytes', 'otherAnonBytes', 'fileBytes']);
  const shown = LAYERS.filter((l) => always.has(l.key) || p[l.key] > 0).map((l) => `${l.label} ${formatMiB(p[l.key])}`);
  if (p.figures === 'interpolated') shown.push('(interpolated between fresh figures)');
  return shown.join('  ·  ');
}

/** The split of one environment's samples so far (samples[0..n)), and the file-backed figure in force after them. */
interface SplitCache { samples: Sample[]; n: number; points: LedgerPoint[]; file: number | null; maxTotal: number; live: boolean }

interface LedgerPlot {
  box: HTMLElement;
  plotBox: HTMLElement;
  readout: HTMLElement;
  coverage: HTMLElement;
  /** The trim experiment: a button while the environment's target runs, and what the last request gave. */
  trim: HTMLElement;
  trimButton: HTMLButtonElement;
  trimStatus: HTMLElement;
  /** Index of the environment in the run. */
  index: number;
  /** Samples the coverage line was last computed from. */
  coverageAt?: number;
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

  /** `onTrim`: asks the host to trim environment `index` (absent in the standalone report: there is no target). */
  constructor(private readonly container: HTMLElement, private readonly onTrim?: (index: number) => void) {
    container.hidden = true;
    this.resize = new ResizeObserver(() => {
      for (const p of this.plots) p.plot.setSize({ width: this.width(p.plotBox), height: HEIGHT });
    });
  }

  /** Draws the environments that have ledger samples; rebuilds when that set or the theme changed. `live`: more samples will come. */
  update(envs: EnvironmentSnapshot[], theme: Theme, live = false): void {
    const shown = envs.map((e, i) => ({ e, i })).filter(({ e }) => hasLedger(e.samples));
    const key = shown.map(({ e, i }) => `${i}:${e.record.env}/${e.record.label}/${e.record.repetition}`).join('|');
    const split = shown.map(({ e, i }) => this.split(i, e.samples, live));
    const points = split.map((c) => c.points);
    this.xMax = Math.max(1e-3, ...points.map((p) => (p.at(-1)?.t ?? 0) / 1000));
    this.yMax = Math.max(1, ...split.map((c) => c.maxTotal)) / MiB * 1.05;
    if (key !== this.layoutKey || theme !== this.theme) this.build(shown, theme, key);
    this.plots.forEach((p, k) => {
      p.all = points[k];
      this.showTrim(p, shown[k].e, live);
      this.showCoverage(p, shown[k].e.samples, live);
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
  private split(i: number, samples: Sample[], live: boolean): SplitCache {
    const c = this.cache.get(i);
    if (c && !live && !c.live && c.samples === samples && samples.length === c.n) return c;
    if (live && c && c.live && c.samples === samples && samples.length >= c.n && c.file != null) {
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
    // A stored run: stale figures interpolated between fresh ones; a live one draws them as unknown.
    const all = live ? ledgerPointsFrom(samples, 0, first) : { points: ledgerPoints(samples, { interpolate: true }), file: null };
    const fresh: SplitCache = { samples, n: samples.length, points: all.points, file: all.file, maxTotal: 0, live };
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

  /** Shows the answer to a trim request of environment `index`. */
  trimmed(index: number, message: string): void {
    const p = this.plots.find((x) => x.index === index);
    if (!p) return;
    p.trimStatus.textContent = message;
    p.trimButton.disabled = false;
  }

  private showTrim(p: LedgerPlot, e: EnvironmentSnapshot, live: boolean): void {
    const running = live && e.record.pid != null && e.record.exit === null && e.record.verification?.applied !== false;
    p.trim.hidden = !this.onTrim || !running;
    if (p.trim.hidden) return;
    let allocator: string | null = null;
    for (let i = e.samples.length - 1; i >= 0 && allocator === null; i--) allocator = e.samples[i].allocatorStats?.allocator ?? null;
    p.trimButton.textContent = allocator === 'glibc' || allocator === null ? 'Trim: malloc_trim(0)' : `Release free memory (${allocator})`;
    p.trimButton.title = 'Ask the running target, through the probe, to give its free memory back, and mark how much RSS came back on the timeline: memory that comes back was retained, not leaked.';
  }

  private build(shown: { e: EnvironmentSnapshot; i: number }[], theme: Theme, layoutKey: string): void {
    const envs = shown.map(({ e }) => e);
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
    for (const [k, l] of LAYERS.entries()) {
      const item = el('span', 'ledger-key-item');
      const sw = el('span', 'swatch');
      if (k === UNKNOWN) sw.className = 'swatch swatch-unknown';
      else sw.style.background = l.colour(theme);
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
      const coverage = el('div', 'ledger-coverage');
      const trim = el('div', 'ledger-trim');
      const trimButton = el('button', 'ledger-trim-button');
      const trimStatus = el('span', 'ledger-trim-status');
      trim.append(trimButton, trimStatus);
      trim.hidden = true;
      box.append(el('div', 'ledger-title', e.record.repetition > 1 ? `${e.record.label} #${e.record.repetition}` : e.record.label), plotBox, readout, coverage, trim);
      grid.append(box);
      return { box, plotBox, readout, coverage, trim, trimButton, trimStatus };
    });
    // Sizes are known once the grid is in the document.
    this.plots = boxes.map(({ box, plotBox, readout, coverage, trim, trimButton, trimStatus }, k) => {
      const index = shown[k].i;
      trimButton.addEventListener('click', () => {
        trimButton.disabled = true;
        trimStatus.textContent = 'asking the target…';
        this.onTrim?.(index);
      });
      const p = { box, plotBox, readout, coverage, trim, trimButton, trimStatus, index, drawn: [], all: [] } as Omit<LedgerPlot, 'plot'> as LedgerPlot;
      p.plot = new uPlot(this.options(theme, p), [[], ...LAYERS.map(() => [])], plotBox);
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
    const fill = (k: number) => (k === UNKNOWN ? hatch(colours[k]) : withAlpha(colours[k], FILL_ALPHA));
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
          // A layer that is zero almost everywhere would draw a line on its neighbour: the fills say enough.
          stroke: k === UNKNOWN ? 'transparent' : colours[k],
          width: k === 0 || k === LAYERS.length - 1 ? 1 : 0.5,
          points: { show: false },
          // The bottom layer fills to zero; the others are the bands between consecutive cumulative sums.
          ...(k === 0 ? { fill: fill(0), fillTo: 0 } : {}),
        })),
      ],
      bands: LAYERS.slice(1).map((_l, k) => ({ series: [k + 2, k + 1] as uPlot.Band.Bounds, fill: fill(k + 1) })),
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

  /** Says when the measured parts leave more than 2 % of RSS unexplained (JSON: metrics.ledgerCoverage). */
  private showCoverage(p: LedgerPlot, samples: Sample[], live: boolean): void {
    // Medians over every sample: recomputed once per 100 new samples while live, not at every frame.
    if (live && p.coverageAt !== undefined && samples.length - p.coverageAt < 100 && samples.length >= p.coverageAt) return;
    p.coverageAt = samples.length;
    const c = ledgerCoverage(samples);
    p.box.dataset.coverage = c ? (c.withinTolerance ? 'ok' : 'short') : 'none';
    if (!c || c.withinTolerance) {
      p.coverage.textContent = '';
      return;
    }
    p.coverage.textContent = `ledger coverage: the measured parts explain ${(c.explainedFraction * 100).toFixed(1)} % of anonymous memory; ` +
      `${formatMiB(c.unexplainedBytes)} (${(c.unexplainedFractionOfRss * 100).toFixed(1)} % of RSS, over the ${COVERAGE_TOLERANCE * 100} % tolerance) is other anonymous memory ` +
      'the program maps itself or that no measured part accounts for';
  }
}
