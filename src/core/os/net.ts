// The network rules of the engine, for readiness and load alike: only loopback is talked to (unless the user
// allowed remote targets twice), an address is resolved once and pinned, and who really listens on a port is
// checked (a readiness check that connects to a port another process holds would report a target "ready" that
// never started listening). Free ports for targets come from here too.
import { lookup } from 'node:dns/promises';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import * as net from 'node:net';
import { AlloclabError } from '../errors';
import { processTable, processTreePids } from './proc';

/** The address targets listen on and readiness checks connect to. */
export const LOOPBACK_V4 = '127.0.0.1';

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Socket inodes listening on this TCP port (IPv4 and IPv6) in our network namespace. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st ... inode (field 9); st 0A = LISTEN
      if (f.length < 10 || f[3] !== '0A') continue;
      if (f[1].split(':')[1] === hexPort) inodes.add(f[9]);
    }
  }
  return inodes;
}

function holdsSocket(pid: number, inodes: Set<string>): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m && inodes.has(m[1])) return true;
    } catch {
      // Closed while we looked.
    }
  }
  return false;
}

/**
 * Who listens on `port`: 'ours' (the target's tree), 'unknown' (no listener visible, e.g. another network
 * namespace, or no permission), or the pid and name of another process.
 */
export function portOwner(port: number, pid: number, pgid: number): 'ours' | 'unknown' | { pid: number; comm: string } {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return 'unknown';
  for (const p of processTreePids(pid, pgid)) if (holdsSocket(p, inodes)) return 'ours';
  for (const p of processTable()) if (holdsSocket(p.pid, inodes)) return { pid: p.pid, comm: p.comm };
  return 'unknown';
}

/** True for an IP address in 127.0.0.0/8 or ::1, also written IPv4-mapped (::ffff:127.x.y.z, ::ffff:7f00:1). */
export function isLoopbackAddress(address: string): boolean {
  const a = address.replace(/^\[|\]$/g, '').toLowerCase();
  const kind = net.isIP(a);
  if (kind === 4) return a.startsWith('127.');
  if (kind !== 6) return false;
  if (a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(.+)$/.exec(a)?.[1];
  if (!mapped) return false;
  if (net.isIP(mapped) === 4) return mapped.startsWith('127.');
  // The URL parser writes the mapped address in hex: ::ffff:7f00:1 is 127.0.0.1.
  return /^7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(mapped);
}

/** localhost and *.localhost (RFC 6761: always this machine), with or without the trailing dot. */
function isLocalhostName(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost');
}

/** True for a URL hostname that names loopback: a loopback address (in any form the URL parser normalises), localhost or *.localhost. */
export function isLoopbackHost(hostname: string): boolean {
  return isLocalhostName(hostname) || isLoopbackAddress(hostname);
}

const LOOPBACK_HELP = 'only loopback targets (127.0.0.0/8, ::1, localhost) are loaded by default. To load another host, set "allowRemoteTargets": true in the scenario and pass --allow-remote.';

/**
 * The origin part of a URL as written (scheme, "//", authority), refusing a request template ({{...}}) in it:
 * the guard must judge the address the load will really connect to, and a template there is rendered only
 * per request. `${port}` and the other ${...} variables are substituted before this.
 */
export function splitOrigin(url: string): { origin: string; rest: string } {
  const open = url.indexOf('{{');
  const close = url.indexOf('}}');
  const firstTemplate = Math.min(open < 0 ? Infinity : open, close < 0 ? Infinity : close);
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\\{}\s]*/i.exec(url);
  const end = m ? m[0].length : -1;
  const cleanEnd = m !== null && (end === url.length || '/?#'.includes(url[end]));
  if (firstTemplate <= end || (!cleanEnd && Number.isFinite(firstTemplate))) {
    throw new AlloclabError(`"${url}": a request template ({{...}}) may appear only in the path, query or fragment, never in the scheme, host or port; write the address literally, e.g. http://127.0.0.1:\${port}/items/{{counter}}`, 'input');
  }
  if (!cleanEnd) throw new AlloclabError(`"${url}" is not a valid URL; write e.g. http://127.0.0.1:\${port}/path`, 'input');
  return { origin: url.slice(0, end), rest: url.slice(end) };
}

/** Throws an AlloclabError (exit 2) unless the URL is http(s) on loopback (or remote targets were allowed); templates may not touch its origin. */
export function assertLoopback(url: string, allowRemote: boolean): URL {
  const { origin } = splitOrigin(url);
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    throw new AlloclabError(`"${url}" is not a valid URL; write e.g. http://127.0.0.1:\${port}/path`, 'input');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new AlloclabError(`"${url}": only http:// and https:// URLs can be loaded`, 'input');
  }
  if (allowRemote || isLoopbackHost(parsed.hostname)) return parsed;
  throw new AlloclabError(`Refusing to send load to ${parsed.host}: ${LOOPBACK_HELP}`, 'input');
}

/** A URL whose host was resolved once: connect to `address`, never to what the name resolves to later. */
export interface PinnedUrl {
  url: string;
  /** The parsed origin (scheme, host, port) of `url`. */
  origin: URL;
  /** The IP address to connect to (without brackets). */
  address: string;
  family: 4 | 6;
}

/**
 * Checks a URL (assertLoopback), resolves its host once and checks the address really connected to:
 * localhost and *.localhost are resolved as "localhost" (never through DNS), an address not on loopback is
 * refused unless remote targets were allowed.
 */
export async function pinUrl(url: string, allowRemote: boolean): Promise<PinnedUrl> {
  const origin = assertLoopback(url, allowRemote);
  const host = origin.hostname.replace(/^\[|\]$/g, '');
  let candidates: { address: string; family: number }[];
  if (net.isIP(host)) {
    candidates = [{ address: host, family: net.isIP(host) }];
  } else {
    try {
      candidates = await lookup(isLocalhostName(host) ? 'localhost' : host, { all: true });
    } catch (e) {
      throw new AlloclabError(`Cannot resolve ${host} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); use an address such as 127.0.0.1.`, 'input');
    }
  }
  if (!allowRemote) {
    const outside = candidates.find((c) => !isLoopbackAddress(c.address));
    if (outside || candidates.length === 0) throw new AlloclabError(`Refusing to send load to ${origin.host}: it resolves to ${outside?.address ?? 'nothing'}; ${LOOPBACK_HELP}`, 'input');
  }
  const first = candidates[0];
  return { url, origin, address: first.address, family: first.family === 6 ? 6 : 4 };
}

type LookupCallback = (err: Error | null, address: string | { address: string; family: number }[], family?: number) => void;

/** A `lookup` for net.connect / http.request / undici's connect options that always answers the pinned address. */
export function pinnedLookup(address: string, family: 4 | 6): (host: string, opts: { all?: boolean } | number | LookupCallback, cb?: LookupCallback) => void {
  return (_host, opts, cb) => {
    const callback = (typeof opts === 'function' ? opts : cb) as LookupCallback;
    if (typeof opts === 'object' && opts?.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

/** True when a TCP connection to host:port succeeds within a second. */
export function canConnect(port: number, host: string = LOOPBACK_V4): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
