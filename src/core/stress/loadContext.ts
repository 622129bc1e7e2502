// What every load driver shares: the phase context, ${var} substitution and the loopback guard.
import { AlloclabError } from '../errors';
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
}

/** Replaces ${name} for each name in vars; unknown names stay as written (they may be meant for a shell). */
export function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}/g, (whole, name: string) => (Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : whole));
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]', '::1']);

/** True for 127.0.0.0/8, ::1 (also IPv4-mapped loopback) and localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  if (LOOPBACK_HOSTS.has(h) || h.endsWith('.localhost')) return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  // The URL parser writes IPv4-mapped addresses in hex: [::ffff:7f00:1] is 127.0.0.1.
  return /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(h) || /^\[::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}\]$/.test(h);
}

/** Throws an AlloclabError (exit 2) unless the URL is loopback, or remote targets were allowed. */
export function assertLoopback(url: string, allowRemote: boolean): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AlloclabError(`"${url}" is not a valid URL; write e.g. http://127.0.0.1:\${port}/path`, 2);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new AlloclabError(`"${url}": only http:// and https:// URLs can be loaded`, 2);
  }
  if (allowRemote || isLoopbackHost(parsed.hostname)) return;
  throw new AlloclabError(
    `Refusing to send load to ${parsed.host}: only loopback targets (127.0.0.0/8, ::1, localhost) are loaded by default. ` +
      'To load another host, set "allowRemoteTargets": true in the scenario and pass --allow-remote.',
    2,
  );
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

/** Substitutes ${...} in a URL and refuses it when a needed variable is missing or the host is not allowed. */
export function resolveUrl(template: string, ctx: LoadContext): string {
  const url = substitute(template, loadVariables(ctx));
  if (url.includes('${port}')) {
    throw new AlloclabError(`"${template}" uses \${port} but no port was picked for this run; give target.ready.tcpPort "\${port}" or write the port in the URL.`, 2);
  }
  assertLoopback(url, ctx.allowRemote);
  return url;
}

export function emptyStats(durationMs: number): LoadStats {
  return { requests: 0, errors: { status: 0, connect: 0, timeout: 0, other: 0 }, durationMs, throughputRps: 0 };
}

