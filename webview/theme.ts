// Colours come from the VS Code theme (--vscode-* variables, the charts.* palette); the standalone report defines
// light defaults for the same variables. Canvas drawing cannot use var(), so the values are read here and read
// again whenever the theme changes.

export interface Theme {
  foreground: string;
  background: string;
  grid: string;
  font: string;
  series: string[];
  phase: { warmup: string; load: string; idle: string };
  error: string;
  kind: 'light' | 'dark' | 'high-contrast';
}

const SERIES_VARS: [string, string][] = [
  ['--vscode-charts-blue', '#1a85ff'],
  ['--vscode-charts-orange', '#d18616'],
  ['--vscode-charts-green', '#388a34'],
  ['--vscode-charts-purple', '#652d90'],
  ['--vscode-charts-red', '#e51400'],
  ['--vscode-charts-yellow', '#bf8803'],
];
// More environments than theme colours: fixed extras that read on light and dark backgrounds.
const EXTRA = ['#0097a7', '#c2185b', '#7cb342', '#8d6e63', '#5c6bc0', '#f06292'];

/** Reads the theme from the CSS variables on <body>. */
export function readTheme(): Theme {
  const cs = getComputedStyle(document.body);
  const v = (name: string, fallback: string) => cs.getPropertyValue(name).trim() || fallback;
  const cls = document.body.classList;
  const kind = cls.contains('vscode-high-contrast') || cls.contains('vscode-high-contrast-light') ? 'high-contrast'
    : cls.contains('vscode-dark') ? 'dark' : 'light';
  const foreground = v('--vscode-foreground', kind === 'dark' ? '#cccccc' : '#3b3b3b');
  return {
    foreground,
    background: v('--vscode-editor-background', kind === 'dark' ? '#1f1f1f' : '#ffffff'),
    grid: v('--vscode-editorWidget-border', kind === 'dark' ? '#454545' : '#c8c8c8'),
    font: `${v('--vscode-font-size', '13px')} ${v('--vscode-font-family', 'system-ui, sans-serif')}`,
    series: [...SERIES_VARS.map(([name, fb]) => v(name, fb)), ...EXTRA],
    phase: {
      warmup: v('--vscode-charts-yellow', '#bf8803'),
      load: v('--vscode-charts-blue', '#1a85ff'),
      idle: v('--vscode-charts-green', '#388a34'),
    },
    error: v('--vscode-errorForeground', '#e51400'),
    kind,
  };
}

/** Calls `onChange` when VS Code switches the theme (it changes the body class and the variables together). */
export function watchTheme(onChange: () => void): MutationObserver {
  const obs = new MutationObserver(() => onChange());
  obs.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  // VS Code puts the --vscode-* values in the style attribute of <html>.
  obs.observe(document.documentElement, { attributes: true, attributeFilter: ['style'] });
  return obs;
}
