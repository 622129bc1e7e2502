// A small ELF reader: just enough to tell static from dynamic binaries, list DT_NEEDED and look for allocator
// symbols, without depending on binutils being installed or parsing readelf's human-oriented output.
import { closeSync, openSync, readSync, fstatSync } from 'node:fs';

export interface ElfFacts {
  /** ET_EXEC, ET_DYN, ... */
  type: number;
  is64: boolean;
  machine: number;
  /** The PT_INTERP path (the dynamic loader), or null for a static binary. */
  interpreter: string | null;
  /** DT_NEEDED sonames, in order. */
  needed: string[];
  /** Which of the names asked for are defined (not merely referenced) in .dynsym or .symtab. */
  definedSymbols: Set<string>;
}

const PT_INTERP = 3;
const PT_DYNAMIC = 2;
const PT_LOAD = 1;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
// Enough for every section and symbol table of an ordinary service binary; larger tables are read in part.
const MAX_TABLE = 64 * 1024 * 1024;

/** Reads ELF facts from a file, looking up only `symbols`; returns null when the file is not ELF (a script). */
export function readElf(file: string, symbols: readonly string[] = []): ElfFacts | null {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const read = (offset: number, length: number): Buffer => {
      const len = Math.max(0, Math.min(length, size - offset, MAX_TABLE));
      const buf = Buffer.allocUnsafe(len);
      const got = len > 0 ? readSync(fd, buf, 0, len, offset) : 0;
      return buf.subarray(0, got);
    };
    const ident = read(0, 64);
    if (ident.length < 52 || ident.readUInt32BE(0) !== 0x7f454c46) return null;
    const is64 = ident[4] === 2;
    const le = ident[5] === 1;
    const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const addr = (b: Buffer, o: number) => (is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(b, o));
    const type = u16(ident, 16);
    const machine = u16(ident, 18);
    const phoff = addr(ident, is64 ? 32 : 28);
    const shoff = addr(ident, is64 ? 40 : 32);
    const phentsize = u16(ident, is64 ? 54 : 42);
    const phnum = u16(ident, is64 ? 56 : 44);
    const shentsize = u16(ident, is64 ? 58 : 46);
    const shnum = u16(ident, is64 ? 60 : 48);

    let interpreter: string | null = null;
    let dynamic: { offset: number; size: number } | null = null;
    const loads: { vaddr: number; offset: number; filesz: number }[] = [];
    const ph = read(phoff, phentsize * phnum);
    for (let i = 0; i < phnum && (i + 1) * phentsize <= ph.length; i++) {
      const o = i * phentsize;
      const pType = u32(ph, o);
      const pOffset = addr(ph, o + (is64 ? 8 : 4));
      const pVaddr = addr(ph, o + (is64 ? 16 : 8));
      const pFilesz = addr(ph, o + (is64 ? 32 : 16));
      if (pType === PT_INTERP) interpreter = cString(read(pOffset, pFilesz), 0);
      else if (pType === PT_DYNAMIC) dynamic = { offset: pOffset, size: pFilesz };
      else if (pType === PT_LOAD) loads.push({ vaddr: pVaddr, offset: pOffset, filesz: pFilesz });
    }

    const needed: string[] = [];
    if (dynamic) {
      const entSize = is64 ? 16 : 8;
      const dyn = read(dynamic.offset, dynamic.size);
      const neededOffsets: number[] = [];
      let strtabAddr = -1;
      let strtabSize = 0;
      for (let o = 0; o + entSize <= dyn.length; o += entSize) {
        const tag = addr(dyn, o);
        const val = addr(dyn, o + entSize / 2);
        if (tag === 0) break;
        if (tag === DT_NEEDED) neededOffsets.push(val);
        else if (tag === DT_STRTAB) strtabAddr = val;
        else if (tag === DT_STRSZ) strtabSize = val;
      }
      // DT_STRTAB holds a virtual address; map it back to a file offset through the PT_LOAD segments.
      const seg = loads.find((l) => strtabAddr >= l.vaddr && strtabAddr < l.vaddr + l.filesz);
      if (seg) {
        const rest = seg.filesz - (strtabAddr - seg.vaddr);
        const strtab = read(seg.offset + (strtabAddr - seg.vaddr), strtabSize > 0 ? Math.min(strtabSize, rest) : rest);
        for (const off of neededOffsets) needed.push(cString(strtab, off));
      }
    }

    const definedSymbols = new Set<string>();
    if (symbols.length > 0 && shoff > 0 && shnum > 0) {
      const sh = read(shoff, shentsize * shnum);
      const section = (i: number) => {
        const o = i * shentsize;
        return {
          type: u32(sh, o + 4),
          offset: addr(sh, o + (is64 ? 24 : 16)),
          size: addr(sh, o + (is64 ? 32 : 20)),
          link: u32(sh, o + (is64 ? 40 : 24)),
          entsize: addr(sh, o + (is64 ? 56 : 36)),
        };
      };
      for (let i = 0; i < shnum && (i + 1) * shentsize <= sh.length; i++) {
        const s = section(i);
        if (s.type !== SHT_SYMTAB && s.type !== SHT_DYNSYM) continue;
        if (s.link >= shnum || s.entsize === 0) continue;
        const strs = section(s.link);
        const strtab = read(strs.offset, strs.size);
        // Large binaries have hundreds of thousands of symbols and tens of MB of names: compare only the few
        // wanted names, byte by byte, and only for symbols whose name starts with a wanted first letter.
        for (const name of definedAmong(read(s.offset, s.size), strtab, s.entsize, is64, le, symbols)) definedSymbols.add(name);
      }
    }
    return { type, is64, machine, interpreter, needed, definedSymbols };
  } finally {
    closeSync(fd);
  }
}

/**
 * Which of `symbols` a symbol table defines. Kept apart from readElf so V8 optimises the hot loop: large
 * binaries have hundreds of thousands of symbols and tens of MB of names.
 */
function definedAmong(syms: Buffer, strtab: Buffer, entsize: number, is64: boolean, le: boolean, symbols: readonly string[]): string[] {
  const wanted = symbols.map((name) => Buffer.from(name));
  // Filter on the first two bytes of the name: this runs once per binary, mostly in the interpreter, so the
  // common case (a C++ name starting "_Z", say) must cost a few array reads and no calls.
  const prefix = new Uint8Array(65536);
  for (const w of wanted) prefix[(w[0] << 8) | w[1]] = 1;
  const found: string[] = [];
  const infoAt = is64 ? 4 : 12;
  const shndxAt = is64 ? 6 : 14;
  const limit = strtab.length - 1;
  for (let o = 0; o + entsize <= syms.length; o += entsize) {
    const off = le
      ? (syms[o] | (syms[o + 1] << 8) | (syms[o + 2] << 16)) + syms[o + 3] * 0x1000000
      : (syms[o + 3] | (syms[o + 2] << 8) | (syms[o + 1] << 16)) + syms[o] * 0x1000000;
    if (off >= limit || prefix[(strtab[off] << 8) | strtab[off + 1]] === 0) continue;
    const symType = syms[o + infoAt] & 0xf;
    const shndx = le ? syms[o + shndxAt] | (syms[o + shndxAt + 1] << 8) : syms[o + shndxAt + 1] | (syms[o + shndxAt] << 8);
    // Defined functions and objects only: an undefined reference to malloc says nothing about who provides it.
    if (shndx === 0 || (symType !== 1 && symType !== 2)) continue;
    for (let k = 0; k < wanted.length; k++) {
      const w = wanted[k];
      if (strtab[off + w.length] === 0 && sameBytes(strtab, off, w)) {
        found.push(symbols[k]);
        break;
      }
    }
  }
  return found;
}

// Byte loop rather than Buffer.compare: the native call costs more than the few bytes compared.
function sameBytes(buf: Buffer, at: number, word: Buffer): boolean {
  for (let j = 0; j < word.length; j++) if (buf[at + j] !== word[j]) return false;
  return true;
}

function cString(buf: Buffer, offset: number): string {
  if (offset >= buf.length) return '';
  const end = buf.indexOf(0, offset);
  return buf.toString('utf8', offset, end < 0 ? buf.length : end);
}
