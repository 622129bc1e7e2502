// The one way a child's environment is composed: immutably (each step returns a new object, as
// vscode-js-debug's EnvironmentVars does), and LD_PRELOAD composed rather than overwritten, because the user
// may preload their own libraries (a tracer, a shim) and every layer (allocator, probe, profiler) adds one.

/** Variables to apply: a string sets, null or undefined removes. */
export type EnvPatch = Readonly<Record<string, string | null | undefined>>;

/** ld.so splits LD_PRELOAD at spaces and colons. */
const PRELOAD_SEPARATORS = /[:\s]+/;

/** `first` in front of the entries already in `existing` (as written, minus duplicates of `first`), colon-joined. */
export function composePreload(first: readonly string[], existing: string | undefined): string {
  const ours = first.filter(Boolean);
  const rest = (existing ?? '').split(PRELOAD_SEPARATORS).filter((e) => e && !ours.includes(e));
  return [...new Set(ours), ...rest].join(':');
}

/** An immutable set of environment variables. */
export class EnvironmentVars {
  static readonly empty = new EnvironmentVars({});

  private constructor(private readonly vars: Readonly<Record<string, string>>) {}

  /** From a process.env-like object (undefined values are left out). */
  static from(base: Readonly<Record<string, string | undefined>>): EnvironmentVars {
    return EnvironmentVars.empty.merge(base);
  }

  /** A copy with `patch` applied, later patches winning. */
  merge(...patches: EnvPatch[]): EnvironmentVars {
    const out: Record<string, string> = { ...this.vars };
    for (const patch of patches) {
      for (const [k, v] of Object.entries(patch)) {
        if (v === null || v === undefined) delete out[k];
        else out[k] = v;
      }
    }
    return new EnvironmentVars(out);
  }

  /** A copy with `libraries` first in LD_PRELOAD, before what was there. */
  withPreload(...libraries: string[]): EnvironmentVars {
    const ours = libraries.filter(Boolean);
    if (ours.length === 0) return this;
    return this.merge({ LD_PRELOAD: composePreload(ours, this.vars.LD_PRELOAD) });
  }

  /** A copy with `item` appended to a list variable (MALLOC_CONF is comma-separated). */
  withListItem(name: string, item: string, separator: string): EnvironmentVars {
    const current = this.vars[name];
    return this.merge({ [name]: current ? `${current}${separator}${item}` : item });
  }

  get(name: string): string | undefined {
    return Object.prototype.hasOwnProperty.call(this.vars, name) ? this.vars[name] : undefined;
  }

  /** A plain object for spawn (a fresh copy: changing it does not change this). */
  toObject(): Record<string, string> {
    return { ...this.vars };
  }
}
