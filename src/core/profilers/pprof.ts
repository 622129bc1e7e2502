// Google's profile.proto (the pprof format that Pyroscope, Parca, Perfetto and speedscope read), written from any
// backend's profile. Encoded by hand: the message is small and fixed (proto3, varints and length-delimited
// fields only), and gzip comes from Node's zlib.
import { gzipSync } from 'node:zlib';
import * as path from 'node:path';
import type { AllocationProfile, Frame } from './model';

/** A protobuf writer for the subset profile.proto needs: varint and length-delimited fields. */
class ProtoWriter {
  private chunks: Buffer[] = [];
  private cur: number[] = [];

  private flushCur(): void {
    if (this.cur.length) {
      this.chunks.push(Buffer.from(this.cur));
      this.cur = [];
    }
  }

  private varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.cur.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.cur.push(Number(x));
  }

  /** A varint field; zero is the default and is left out, as proto3 does. */
  uint(field: number, v: number | bigint): this {
    if (v === 0 || v === 0n) return this;
    this.varint(field << 3);
    this.varint(v);
    return this;
  }

  bool(field: number, v: boolean): this {
    return v ? this.uint(field, 1) : this;
  }

  bytes(field: number, b: Buffer): this {
    this.varint((field << 3) | 2);
    this.varint(b.length);
    this.flushCur();
    this.chunks.push(b);
    return this;
  }

  message(field: number, m: ProtoWriter): this {
    return this.bytes(field, m.finish());
  }

  /** A packed repeated varint field (proto3's default for repeated scalars). */
  packed(field: number, values: (number | bigint)[]): this {
    if (!values.length) return this;
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  finish(): Buffer {
    this.flushCur();
    return Buffer.concat(this.chunks);
  }
}

export interface PprofOptions {
  /** Unix epoch milliseconds when the profile started (time_nanos). */
  startedAtMs?: number;
}

type SampleType = 'alloc_objects' | 'alloc_space' | 'inuse_objects' | 'inuse_space';

/** The sample types this profile can give, in pprof's order (alloc first, inuse last: inuse_space is the default). */
export function pprofSampleTypes(profile: AllocationProfile): SampleType[] {
  const out: SampleType[] = [];
  if (profile.sites.some((s) => s.allocations != null) && profile.capabilities.calls) out.push('alloc_objects');
  if (profile.sites.some((s) => s.allocatedBytes != null)) out.push('alloc_space');
  if (profile.sites.some((s) => s.inuseObjects != null)) out.push('inuse_objects');
  out.push('inuse_space');
  return out;
}

/** Encodes the profile as an uncompressed profile.proto message. */
export function encodePprof(profile: AllocationProfile, opts: PprofOptions = {}): Buffer {
  const strings = new Map<string, number>([['', 0]]);
  const str = (s: string | null | undefined): number => {
    if (!s) return 0;
    let i = strings.get(s);
    if (i === undefined) strings.set(s, (i = strings.size));
    return i;
  };
  const types = pprofSampleTypes(profile);
  const out = new ProtoWriter();
  for (const t of types) out.message(1, new ProtoWriter().uint(1, str(t)).uint(2, str(t.endsWith('space') ? 'bytes' : 'count')));

  // Mappings: one per module, with its build-id (what a profiling server symbolizes by).
  const mappingIds = new Map<string, number>();
  const buildIds = new Map<string, string | null>();
  for (const m of profile.modules ?? []) buildIds.set(m.path, m.buildId);
  for (const s of profile.sites) for (const f of s.frames) if (f.module && f.buildId && !buildIds.get(f.module)) buildIds.set(f.module, f.buildId);
  const mappingOf = (f: Frame): number => {
    if (!f.module) return 0;
    let id = mappingIds.get(f.module);
    if (id === undefined) {
      id = mappingIds.size + 1;
      mappingIds.set(f.module, id);
    }
    return id;
  };

  // Functions by (name, file); locations by address (or, without one, by the symbolic frame): a location holds
  // its inline chain as lines, innermost first, as the model holds consecutive frames of one address.
  const functionIds = new Map<string, number>();
  const functions: ProtoWriter[] = [];
  const functionOf = (f: Frame): number => {
    const name = f.function ?? (f.module ? `${path.basename(f.module)}+${f.offset ?? f.address ?? '?'}` : f.address ?? '??');
    const key = `${name}\0${f.file ?? ''}`;
    let id = functionIds.get(key);
    if (id === undefined) {
      id = functions.length + 1;
      functionIds.set(key, id);
      functions.push(new ProtoWriter().uint(1, id).uint(2, str(name)).uint(3, str(name)).uint(4, str(f.file)));
    }
    return id;
  };
  const locationIds = new Map<string, number>();
  const locations: ProtoWriter[] = [];
  const locationOf = (chain: Frame[]): number => {
    const head = chain[0];
    const key = head.address ?? chain.map((f) => `${f.function}@${f.file}:${f.line}@${f.module}`).join('|');
    let id = locationIds.get(key);
    if (id === undefined) {
      id = locations.length + 1;
      locationIds.set(key, id);
      const loc = new ProtoWriter().uint(1, id).uint(2, mappingOf(head)).uint(3, head.address ? BigInt(head.address) : 0);
      for (const f of chain) loc.message(4, new ProtoWriter().uint(1, functionOf(f)).uint(2, f.line ?? 0));
      locations.push(loc);
    }
    return id;
  };

  const last = profile.snapshots.length - 1;
  for (const site of profile.sites) {
    const ids: number[] = [];
    for (let i = 0; i < site.frames.length; ) {
      let j = i + 1;
      while (j < site.frames.length && site.frames[i].address && site.frames[j].address === site.frames[i].address) j++;
      ids.push(locationOf(site.frames.slice(i, j)));
      i = j;
    }
    const inuse = last >= 0 ? Math.max(0, site.liveBytes[last] ?? 0) : 0;
    const values = types.map((t) => {
      switch (t) {
        case 'alloc_objects': return Math.round(site.allocations ?? 0);
        case 'alloc_space': return Math.round(site.allocatedBytes ?? 0);
        case 'inuse_objects': return Math.round(site.inuseObjects ?? 0);
        case 'inuse_space': return Math.round(inuse);
      }
    });
    out.message(2, new ProtoWriter().packed(1, ids).packed(2, values));
  }
  for (const [module, id] of mappingIds) {
    out.message(3, new ProtoWriter().uint(1, id).uint(5, str(module)).uint(6, str(buildIds.get(module) ?? null))
      .bool(7, true).bool(8, true).bool(9, true).bool(10, true));
  }
  for (const l of locations) out.message(4, l);
  for (const f of functions) out.message(5, f);
  // Strings last but their indices were taken above; sample_type, period and comments need theirs now.
  const periodType = new ProtoWriter().uint(1, str('space')).uint(2, str('bytes'));
  const comment = str(`alloclab ${profile.backend}${profile.sampled ? ' (sampled estimates)' : ''}`);
  const defaultType = str('inuse_space');
  const endMs = last >= 0 ? profile.snapshots[last].t : 0;
  for (const s of strings.keys()) out.bytes(6, Buffer.from(s, 'utf8'));
  if (opts.startedAtMs) out.uint(9, BigInt(Math.round(opts.startedAtMs)) * 1_000_000n);
  out.uint(10, BigInt(Math.round(endMs)) * 1_000_000n);
  out.message(11, periodType);
  out.uint(12, profile.sampling?.intervalBytes ?? 0);
  out.packed(13, [comment]);
  out.uint(14, defaultType);
  return out.finish();
}

/** The profile as a gzipped profile.proto (what `go tool pprof` and the profiling servers take). */
export function writePprof(profile: AllocationProfile, opts: PprofOptions = {}): Buffer {
  return gzipSync(encodePprof(profile, opts));
}
