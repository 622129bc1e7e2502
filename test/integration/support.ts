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
