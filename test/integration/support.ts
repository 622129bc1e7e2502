// Shared by the integration suites running in the extension host.

/** Polls `f` until it returns something truthy, or fails after `ms` naming what it waited for. */
export async function until<T>(what: string, ms: number, f: () => T | undefined | null | false | Promise<T | undefined | null | false>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Reasons of the tests skipped so far, by full title (global: each suite file is its own bundle). */
export function skipReasons(): Map<string, string> {
  const g = globalThis as { __alloclabSkipReasons?: Map<string, string> };
  return (g.__alloclabSkipReasons ??= new Map());
}

/** Skips the running test and records why, so the suite's tally prints the reason with the skip. */
export function skipBecause(ctx: Mocha.Context, reason: string): never {
  skipReasons().set(ctx.test?.fullTitle() ?? '', reason);
  ctx.skip();
}
