// Turning runtime addresses into function/file/line with llvm-symbolizer (or addr2line when it is missing):
// one batched process per module, results cached per build id so repeated profiles of one binary are cheap.
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { execa } from 'execa';
import { which } from '../os/which';
import type { Frame } from './model';

/** One line of /proc/PID/maps (the MAPPED_LIBRARIES section of a jemalloc dump is exactly that). */
export interface Mapping {
  start: bigint;
  end: bigint;
  offset: bigint;
  path: string;
}

/** Parses /proc/PID/maps text lines; lines without a file are kept out. */
export function parseMapsLine(line: string): Mapping | null {
  const m = /^([0-9a-f]+)-([0-9a-f]+)\s+\S+\s+([0-9a-f]+)\s+\S+\s+\d+\s+(\/.*)$/.exec(line.trim());
  if (!m) return null;
  const p = m[4].replace(/ \(deleted\)$/, '');
  return { start: BigInt('0x' + m[1]), end: BigInt('0x' + m[2]), offset: BigInt('0x' + m[3]), path: p };
}

interface ElfInfo {
  buildId: string | null;
  /** Has a program interpreter (dynamically linked), so LD_PRELOAD can reach it. */
  dynamic: boolean;
  /** PT_LOAD segments, to turn a file offset into the address the symbolizer wants. */
  loads: { offset: bigint; vaddr: bigint; filesz: bigint }[];
}

const elfCache = new Map<string, ElfInfo | null>();

/** Reads the ELF header, program headers and GNU build id (64-bit little-endian only). */
export function readElfInfo(file: string): ElfInfo | null {
  if (elfCache.has(file)) return elfCache.get(file)!;
  let info: ElfInfo | null = null;
  let fd: number | null = null;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const hdr = Buffer.alloc(64);
    readSync(fd, hdr, 0, 64, 0);
    if (hdr.readUInt32BE(0) === 0x7f454c46 && hdr[4] === 2 && hdr[5] === 1) {
      const phoff = Number(hdr.readBigUInt64LE(32));
      const phentsize = hdr.readUInt16LE(54);
      const phnum = hdr.readUInt16LE(56);
      const ph = Buffer.alloc(phentsize * phnum);
      readSync(fd, ph, 0, ph.length, phoff);
      info = { buildId: null, dynamic: false, loads: [] };
      for (let i = 0; i < phnum; i++) {
        const o = i * phentsize;
        const type = ph.readUInt32LE(o);
        const offset = ph.readBigUInt64LE(o + 8);
        const vaddr = ph.readBigUInt64LE(o + 16);
        const filesz = ph.readBigUInt64LE(o + 32);
        if (type === 1) info.loads.push({ offset, vaddr, filesz });
        if (type === 3) info.dynamic = true;
        if (type === 4 && Number(offset) + Number(filesz) <= size && filesz < 65536n) {
          const notes = Buffer.alloc(Number(filesz));
          readSync(fd, notes, 0, notes.length, Number(offset));
          info.buildId ??= findBuildId(notes);
        }
      }
    }
  } catch {
    info = null;
  } finally {
    if (fd != null) closeSync(fd);
  }
  elfCache.set(file, info);
  return info;
}

function findBuildId(notes: Buffer): string | null {
  let o = 0;
  while (o + 12 <= notes.length) {
    const namesz = notes.readUInt32LE(o);
    const descsz = notes.readUInt32LE(o + 4);
    const type = notes.readUInt32LE(o + 8);
    const nameStart = o + 12;
    const descStart = nameStart + ((namesz + 3) & ~3);
    if (descStart + descsz > notes.length) return null;
    if (type === 3 && notes.toString('latin1', nameStart, nameStart + 3) === 'GNU') {
      return notes.toString('hex', descStart, descStart + descsz);
    }
    o = descStart + ((descsz + 3) & ~3);
  }
  return null;
}

/** The address inside the ELF file (as the symbolizer expects it) of a runtime address in a mapping. */
export function moduleAddress(addr: bigint, map: Mapping, elf: ElfInfo | null): bigint {
  const fileOffset = addr - map.start + map.offset;
  for (const seg of elf?.loads ?? []) {
    if (fileOffset >= seg.offset && fileOffset < seg.offset + seg.filesz) return fileOffset - seg.offset + seg.vaddr;
  }
  return fileOffset;
}

// Results by "buildId-or-path|moduleAddress": inline chains, innermost first.
const symbolCache = new Map<string, Frame[]>();

export type SymbolizerTool = 'llvm-symbolizer' | 'addr2line';

/** Which symbolizer is installed (llvm-symbolizer preferred: it resolves inline chains and demangles fast). */
export function findSymbolizer(): SymbolizerTool | null {
  if (which('llvm-symbolizer')) return 'llvm-symbolizer';
  if (which('addr2line')) return 'addr2line';
  return null;
}

/**
 * Symbolizes runtime addresses (return addresses: 1 is subtracted so the call line, not the next one, is
 * found). Returns per address its inline chain, innermost first; unresolved parts stay null.
 */
export async function symbolizeAddresses(addresses: bigint[], maps: Mapping[], opts: { returnAddresses?: boolean } = {}): Promise<Map<bigint, Frame[]>> {
  const out = new Map<bigint, Frame[]>();
  const sorted = [...maps].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const byModule = new Map<string, { key: string; addr: bigint; modAddr: bigint }[]>();
  const tool = findSymbolizer();
  for (const addr of new Set(addresses)) {
    const map = findMapping(sorted, addr);
    const hex = '0x' + addr.toString(16);
    if (!map) {
      out.set(addr, [{ function: null, file: null, line: null, module: null, address: hex }]);
      continue;
    }
    const elf = readElfInfo(map.path);
    const lookup = opts.returnAddresses && addr > 0n ? addr - 1n : addr;
    const modAddr = moduleAddress(lookup, map, elf);
    const key = `${elf?.buildId ?? map.path}|${modAddr.toString(16)}`;
    const cached = symbolCache.get(key);
    if (cached) {
      out.set(addr, cached.map((f) => ({ ...f, address: hex })));
      continue;
    }
    if (!tool || !elf) {
      out.set(addr, [{ function: null, file: null, line: null, module: map.path, address: hex }]);
      continue;
    }
    let list = byModule.get(map.path);
    if (!list) byModule.set(map.path, (list = []));
    list.push({ key, addr, modAddr });
  }
  await Promise.all(
    [...byModule].map(async ([module, list]) => {
      const chains = tool === 'llvm-symbolizer' ? await runLlvmSymbolizer(module, list.map((x) => x.modAddr)) : await runAddr2line(module, list.map((x) => x.modAddr));
      list.forEach((x, i) => {
        const chain = (chains[i] ?? [{ function: null, file: null, line: null }]).map((c) => ({ ...c, module, address: null as string | null }));
        symbolCache.set(x.key, chain);
        out.set(x.addr, chain.map((f) => ({ ...f, address: '0x' + x.addr.toString(16) })));
      });
    }),
  );
  return out;
}

function findMapping(sorted: Mapping[], addr: bigint): Mapping | null {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = sorted[mid];
    if (addr < m.start) hi = mid - 1;
    else if (addr >= m.end) lo = mid + 1;
    else return m;
  }
  return null;
}

type Resolved = { function: string | null; file: string | null; line: number | null };

/**
 * Symbolizes addresses of one object file (ELF virtual addresses, as in its symbol table; `obj` may be a
 * separate debug file). Returns per address its inline chain, innermost first.
 */
export async function symbolizeObject(obj: string, addrs: bigint[]): Promise<Resolved[][]> {
  const tool = findSymbolizer();
  if (!tool || !addrs.length) return addrs.map(() => [{ function: null, file: null, line: null }]);
  return tool === 'llvm-symbolizer' ? runLlvmSymbolizer(obj, addrs) : runAddr2line(obj, addrs);
}

function clean(fn: string, fileLine: string): Resolved {
  const m = /^(.*?):(\d+)(?::\d+)?$/.exec(fileLine);
  const line = m && m[1] !== '??' ? Number(m[2]) || null : null;
  // Without debug info llvm-symbolizer still names the STT_FILE symbol with line 0: not a location to link to.
  const file = m && line ? m[1] : null;
  return { function: fn === '??' ? null : fn, file, line };
}

async function runLlvmSymbolizer(module: string, addrs: bigint[]): Promise<Resolved[][]> {
  const input = addrs.map((a) => '0x' + a.toString(16)).join('\n') + '\n';
  const r = await execa('llvm-symbolizer', ['--obj=' + module, '--inlining', '--demangle', '--functions=linkage', '--output-style=LLVM'], { input, reject: false });
  // One block per address, blank-line separated; each block is pairs of lines (function, file:line:col).
  const blocks = r.stdout.split(/\n\s*\n/).map((b) => b.split('\n').filter((l) => l.length > 0));
  return addrs.map((_, i) => {
    const lines = blocks[i] ?? [];
    const chain: Resolved[] = [];
    for (let j = 0; j + 1 < lines.length; j += 2) chain.push(clean(lines[j], lines[j + 1]));
    return chain.length ? chain : [{ function: null, file: null, line: null }];
  });
}

async function runAddr2line(module: string, addrs: bigint[]): Promise<Resolved[][]> {
  // Without -i every address gives exactly two lines, so the output lines up with the input (no inline chains).
  const input = addrs.map((a) => '0x' + a.toString(16)).join('\n') + '\n';
  const r = await execa('addr2line', ['-e', module, '-f', '-C'], { input, reject: false });
  const lines = r.stdout.split('\n');
  return addrs.map((_, i) => [lines[2 * i + 1] != null ? clean(lines[2 * i], lines[2 * i + 1]) : { function: null, file: null, line: null }]);
}
