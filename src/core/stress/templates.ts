// Request templates: `{{counter}}`, `{{randomHex N}}`, `{{randomInt MIN MAX}}`, `{{uuid}}`, `{{choice a b c}}`,
// `{{list NAME}}`. Parsed once (at scenario load, to report mistakes with their position, and again in the load
// worker), then rendered per request by closures so the hot path does no parsing.
import { randomUUID } from 'node:crypto';

export const TEMPLATE_VARIABLES = ['counter', 'randomHex', 'randomInt', 'uuid', 'choice', 'list'] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];

export interface TemplateVar {
  name: TemplateVariable;
  args: string[];
  /** Index of the opening `{{` in the template text. */
  index: number;
}
export type TemplatePart = string | TemplateVar;

/** A mistake in a template, at `index` (0-based, in the decoded string). */
export interface TemplateProblem {
  index: number;
  message: string;
}

const VARS_HELP = 'known: {{counter}}, {{randomHex N}}, {{randomInt MIN MAX}}, {{uuid}}, {{choice a b c}}, {{list NAME}}';
const INT = /^-?\d+$/;

/** Splits a template into literal text and variables; the first mistake is returned instead of parts. */
export function parseTemplate(text: string, knownLists?: ReadonlySet<string>): { parts: TemplatePart[] } | { problem: TemplateProblem } {
  const parts: TemplatePart[] = [];
  let pos = 0;
  while (pos < text.length) {
    const open = text.indexOf('{{', pos);
    if (open < 0) {
      parts.push(text.slice(pos));
      break;
    }
    if (open > pos) parts.push(text.slice(pos, open));
    const close = text.indexOf('}}', open + 2);
    if (close < 0) return { problem: { index: open, message: 'unclosed "{{" in template (close it with "}}")' } };
    const words = text.slice(open + 2, close).trim().split(/\s+/).filter(Boolean);
    const [name, ...args] = words;
    const problem = checkVariable(name, args, knownLists);
    if (problem) return { problem: { index: open, message: problem } };
    parts.push({ name: name as TemplateVariable, args, index: open });
    pos = close + 2;
  }
  return { parts };
}

function checkVariable(name: string | undefined, args: string[], knownLists?: ReadonlySet<string>): string | null {
  switch (name) {
    case 'counter':
    case 'uuid':
      return args.length ? `{{${name}}} takes no arguments` : null;
    case 'randomHex':
      if (args.length !== 1 || !/^\d+$/.test(args[0]) || +args[0] < 1 || +args[0] > 65536) return '{{randomHex N}} needs one length N between 1 and 65536';
      return null;
    case 'randomInt':
      if (args.length !== 2 || !INT.test(args[0]) || !INT.test(args[1])) return '{{randomInt MIN MAX}} needs two integers';
      if (+args[0] > +args[1]) return `{{randomInt MIN MAX}}: MIN (${args[0]}) is greater than MAX (${args[1]})`;
      return null;
    case 'choice':
      return args.length ? null : '{{choice a b c}} needs at least one word to choose from';
    case 'list':
      if (args.length !== 1) return '{{list NAME}} needs one list name';
      if (knownLists && !knownLists.has(args[0])) {
        const known = [...knownLists];
        return `unknown list "${args[0]}" (${known.length ? `declared: ${known.join(', ')}` : 'declare it under "lists"'})`;
      }
      return null;
    case undefined:
      return `empty "{{}}" in template; ${VARS_HELP}`;
    default:
      return `unknown template variable "${name}"; ${VARS_HELP}`;
  }
}

/** Renders one request's text; every variable of one render sees the same counter. */
export type TemplateRenderer = (counter: number) => string;

const HEX = '0123456789abcdef';

function randomHex(n: number): string {
  let out = '';
  while (out.length < n) {
    // 13 hex digits fit in the 53 bits of a double.
    let v = Math.floor(Math.random() * 0x10000000000000);
    for (let i = 0; i < 13 && out.length < n; i++) {
      out += HEX[v & 15];
      v = Math.floor(v / 16);
    }
  }
  return out;
}

/** Compiles a template (already checked) into a renderer; lists must hold every list the template names. */
export function compileTemplate(text: string, lists: Readonly<Record<string, readonly string[]>>): TemplateRenderer {
  const parsed = parseTemplate(text, new Set(Object.keys(lists)));
  if ('problem' in parsed) throw new Error(`template "${text}": ${parsed.problem.message}`);
  if (parsed.parts.every((p) => typeof p === 'string')) {
    const constant = text;
    return () => constant;
  }
  const pieces: TemplateRenderer[] = parsed.parts.map((part): TemplateRenderer => {
    if (typeof part === 'string') return () => part;
    const a = part.args;
    switch (part.name) {
      case 'counter':
        return (c) => String(c);
      case 'uuid':
        return () => randomUUID();
      case 'randomHex': {
        const n = Number(a[0]);
        return () => randomHex(n);
      }
      case 'randomInt': {
        const min = Number(a[0]);
        const span = Number(a[1]) - min + 1;
        return () => String(min + Math.floor(Math.random() * span));
      }
      case 'choice':
        return () => a[Math.floor(Math.random() * a.length)];
      case 'list': {
        const values = lists[a[0]];
        if (!values || values.length === 0) throw new Error(`list "${a[0]}" is empty`);
        return () => values[Math.floor(Math.random() * values.length)];
      }
    }
  });
  return (c) => {
    let s = '';
    for (const p of pieces) s += p(c);
    return s;
  };
}

/** True when the text contains a template variable (so it must be rendered per request). */
export function isTemplate(text: string): boolean {
  return text.includes('{{');
}
