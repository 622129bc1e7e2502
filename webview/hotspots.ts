// The hotspot table of a profiled run: rank, function, file:line (a link the host opens when the file exists on
// this machine), the backend's figures. DOM calls and textContent only: every string comes from a profile.
import type { PanelHotspots } from '../src/protocol/webview';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text != null) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function baseName(file: string): string {
  return file.slice(file.lastIndexOf('/') + 1);
}

/** Fills `box` with one table per profiled environment; hides it when there is none. */
export function renderHotspots(box: HTMLElement, tables: PanelHotspots[], open: (file: string, line: number) => void): void {
  box.hidden = tables.length === 0;
  const parts: HTMLElement[] = [];
  for (const t of tables) {
    parts.push(el('h2', `Allocation hotspots by ${t.ranking} · ${t.environment} (${t.backend}${t.sampled ? ', sampled estimates' : ''})`));
    const table = el('table', undefined, 'hotspots');
    table.dataset.env = t.environment;
    const head = el('tr');
    for (const c of ['#', 'Function', 'Source', 'Figures']) head.append(el('th', c));
    table.append(el('thead'), el('tbody'));
    table.tHead!.append(head);
    for (const r of t.rows) {
      const tr = el('tr');
      const where = el('td');
      if (r.file) {
        const label = `${baseName(r.file)}:${r.line ?? '?'}`;
        if (r.openFile && r.line != null) {
          const file = r.openFile;
          const line = r.line;
          const a = el('a', label, 'source-link');
          a.href = '#';
          a.title = `Open ${file}:${line}`;
          a.addEventListener('click', (ev) => {
            ev.preventDefault();
            open(file, line);
          });
          where.append(a);
        } else {
          where.append(el('span', label, 'unlinked'));
          where.title = `${r.file} is not on this machine: map its folder with the allocatorLab.sourceFileMap setting.`;
        }
      } else {
        where.append(el('span', 'no source line', 'unlinked'));
        where.title = 'The profile has no file:line for this site: a library without debug info, or a binary built without -g.';
      }
      tr.append(el('td', String(r.rank), 'num'), el('td', r.function ?? '??', 'fn'), where, el('td', r.figures, 'figures'));
      table.tBodies[0].append(tr);
    }
    parts.push(table);
    for (const w of t.warnings) parts.push(el('p', w, 'hotspot-warning'));
  }
  box.replaceChildren(...parts);
}
