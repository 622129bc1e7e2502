// What every load driver shares: the phase context, ${var} substitution and the address to load (os/net's guard).
import { AlloclabError } from '../errors';
import { pinUrl, type PinnedUrl } from '../os/net';
import type { LoadStats } from '../model';

export interface LoadContext {
  /** The port picked for this environment's run (${port}). */
  port: number | null;
  /** Phase duration (already overridden if the user passed --duration). */
  durationMs: number;
  /** Cancel: stop at once (runLoad then resolves with what was measured so far). */
  signal: AbortSignal;
  /** The environment folder: external driver output goes to `<outDir>/driver-<phase>.log`. */
  outDir: string;
  phaseName: string;
  /** Scenario folder (relative paths in lists and commands). */
  baseDir: string;
  /** CLI --allow-remote and scenario allowRemoteTargets. */
  allowRemote: boolean;
  /** The phase's `requests` bound (built-in HTTP driver): end after this many requests, or at durationMs. */
  requests?: number | null;
  /** Called when an external driver exited on its own (its fixed work done), which ends the phase early. */
  onDriverExit?: () => void;
}

/** Replaces ${name} for each name in vars; unknown names stay as written (they may be meant for a shell). */
export function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}/g, (whole, name: string) => (Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : whole));
}

/** The ${...} variables of a phase. */
export function loadVariables(ctx: LoadContext): Record<string, string> {
  const vars: Record<string, string> = {
    duration: String(Math.max(1, Math.round(ctx.durationMs / 1000))),
    durationMs: String(Math.round(ctx.durationMs)),
  };
  if (ctx.port != null) vars.port = String(ctx.port);
  return vars;
}

/** Substitutes ${...} in a URL, refuses it when a needed variable is missing or the address is not allowed, and pins the address resolved. */
export async function resolveUrl(template: string, ctx: LoadContext): Promise<PinnedUrl> {
  const url = substitute(template, loadVariables(ctx));
  if (url.includes('${port}')) {
    throw new AlloclabError(`"${template}" uses \${port} but no port was picked for this run; give target.ready.tcpPort "\${port}" or write the port in the URL.`, 'input');
  }
  return pinUrl(url, ctx.allowRemote);
}

export function emptyStats(durationMs: number): LoadStats {
  return { requests: 0, errors: { status: 0, connect: 0, timeout: 0, other: 0 }, durationMs, throughputRps: 0 };
}

