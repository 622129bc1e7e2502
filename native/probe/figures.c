/* The probe's statistics thread: publishes the allocator's own figures and the process's memory map into the
 * shared file a few times a second, and answers requests from the control block (malloc_trim), all on this one
 * thread: never in a signal handler, never on the program's threads.
 *
 * Design notes (the why):
 * - Fresh under load. glibc's mallinfo2() walks every free list of every arena under the arena locks: tens of
 *   milliseconds on a fragmented heap, during which the program's threads wait. So glibc's held memory is
 *   measured instead from the memory map: the resident pages of glibc's heaps ([heap] and the 64 MiB-aligned
 *   arena heaps) minus the live bytes and chunk headers the probe counts. That needs no allocator lock, and
 *   it counts what is resident (free chunks given back by malloc_trim, or never touched, are not). mallinfo2 is
 *   kept as a cross-check at a low rate, at most 0.5 % of a core, with its own time stamp.
 * - The arena list (count, system memory, top chunks) is read directly from glibc's private structures, which
 *   is a handful of words per arena. Only for glibc versions whose layout is known, and only after the list
 *   checked out (a closed ring, plausible sizes); every read goes through process_vm_readv, which fails
 *   cleanly instead of faulting if a heap is unmapped under our feet.
 * - Large blocks glibc mmaps directly are reported apart from the heap. probe.c records each one as it is handed
 *   out (the IS_MMAPPED bit of its chunk header); here their resident pages come from mincore. The map walk (a
 *   chain of chunk headers from the start of a mapping) is only the fallback: the kernel merges adjacent
 *   anonymous mmaps, so a block may sit behind a region of the program's own, where no walk from the start finds it.
 * - The publication interval stays at 250 ms while a round costs under 5 ms; beyond that it stretches so the
 *   thread stays under 2 % of a core. Requests are checked every 20 ms in between.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "figures.h"

#define ROUND_NS 250000000ull
#define POLL_NS 20000000ull
#define MAX_ROUND_SHARE 50   /* a round may cost at most 1/50 of the interval (2 % of a core) */
#define MALLINFO_MIN_NS 10000000000ull
#define MALLINFO_SHARE 200   /* mallinfo2 at most 0.5 % of a core */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of this thread: what a round costs the machine (wall time would count waiting for a core). */
static uint64_t cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns) {
  struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static void *lookup(const char *name) { return dlsym(RTLD_NEXT, name); }

struct stat_set {
  uint64_t valid;
  uint64_t slot[PROBE_STAT_SLOTS];
};

static void put(struct stat_set *s, int i, uint64_t v) {
  s->slot[i] = v;
  s->valid |= 1ull << i;
}

/* Reads memory of this process without risking a fault (the address may have been unmapped meanwhile). */
static int peek(uintptr_t addr, void *out, size_t n) {
  struct iovec local = {out, n}, remote = {(void *)addr, n};
  return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)n;
}

/* ---- glibc: the arena list --------------------------------------------------------------------------- */

/* struct malloc_state of glibc 2.27 to 2.40 on 64-bit: mutex, flags, have_fastchunks, fastbinsY[10], top,
 * last_remainder, bins[254], binmap[4], next, next_free, attached_threads, system_mem, max_system_mem. */
#define ARENA_TOP 96
#define ARENA_NEXT 2160
#define ARENA_SYSTEM_MEM 2184
#define HEAP_MAX ((uintptr_t)64 << 20) /* 2 * DEFAULT_MMAP_THRESHOLD_MAX on 64-bit */
#define MAX_ARENAS 1024

static uintptr_t arena_ring; /* any arena of the ring; 0: not known */

static int glibc_layout_known(void) {
  int major = 0, minor = 0;
  if (sscanf(gnu_get_libc_version(), "%d.%d", &major, &minor) != 2) return 0;
  return sizeof(void *) == 8 && major == 2 && minor >= 27 && minor <= 40;
}

struct arenas {
  unsigned count;
  uint64_t system_mem, top_bytes;
};

/* Walks the ring of arenas from `start`; 0 when anything looks wrong (then the layout is not what we think). */
static int walk_arenas(uintptr_t start, struct arenas *out) {
  memset(out, 0, sizeof *out);
  uintptr_t a = start;
  for (unsigned i = 0; i < MAX_ARENAS; i++) {
    uintptr_t top, next;
    uint64_t sys, top_head;
    if (!peek(a + ARENA_TOP, &top, sizeof top) || !peek(a + ARENA_NEXT, &next, sizeof next) ||
        !peek(a + ARENA_SYSTEM_MEM, &sys, sizeof sys))
      return 0;
    if (sys > ((uint64_t)1 << 46) || (sys & 4095) != 0 || (next & 7) != 0 || next == 0) return 0;
    if (top && peek(top + 8, &top_head, sizeof top_head)) {
      uint64_t t = top_head & ~(uint64_t)7;
      if (t <= sys) out->top_bytes += t;
    }
    out->count++;
    out->system_mem += sys;
    a = next;
    if (a == start) return 1;
  }
  return 0;
}

/* Finds the arena ring from a block this thread allocates: a block of a non-main arena lies in a 64 MiB-aligned
 * heap whose first word (heap_info.ar_ptr) is its arena. The ring through `next` then reaches every arena. */
static void find_arenas(void) {
  if (!glibc_layout_known()) return;
  void *p = malloc(64); /* served by glibc, not counted (this is the probe's own thread) */
  if (!p) return;
  uint64_t head = 0;
  int ok = peek((uintptr_t)p - 8, &head, sizeof head);
  free(p);
  if (!ok) return;
  if (!(head & 4)) return; /* NON_MAIN_ARENA clear: this thread shares the main arena (MALLOC_ARENA_MAX=1) */
  uintptr_t heap = (uintptr_t)p & ~(HEAP_MAX - 1), ar;
  if (!peek(heap, &ar, sizeof ar) || ar == 0) return;
  struct arenas check;
  if (walk_arenas(ar, &check) && check.count >= 2) arena_ring = ar;
}

/* ---- the memory map ---------------------------------------------------------------------------------- */

struct map_figures {
  uint64_t anon, heap, direct, direct_usable, direct_blocks, stacks, lazyfree, probe;
};

struct vma {
  uintptr_t start, end;
  char perms[5];
  int anonymous_mapping; /* no file, no name */
  int named_heap, named_stack;
  uint64_t anon, lazyfree;
};

static uintptr_t probe_bss;               /* an address in the probe's own .bss (its boot buffer lives there) */
static uintptr_t own_stack_lo, own_stack_hi;
static char probe_bss_marker[16];

/* A heap of a non-main glibc arena: 64 MiB-aligned, and its heap_info.size fits the mapping. */
static int is_arena_heap(const struct vma *v) {
  if (v->start & (HEAP_MAX - 1)) return 0;
  uint64_t info[4]; /* ar_ptr, prev, size, mprotect_size */
  if (!peek(v->start, info, sizeof info)) return 0;
  return info[0] != 0 && info[2] >= 4096 && info[2] <= HEAP_MAX && info[2] <= v->end - v->start + 4096;
}

/* Directly mmapped glibc chunks in one mapping (adjacent mmaps may share a mapping): walks their headers
 * (prev_size = alignment correction, size with IS_MMAPPED) as far as they form a chain of such chunks. */
static void direct_chunks(const struct vma *v, struct map_figures *f) {
  uintptr_t at = v->start, covered = 0;
  uint64_t usable = 0, blocks = 0;
  while (at < v->end && blocks < 100000) {
    uint64_t h[2];
    if (!peek(at, h, sizeof h)) break;
    uint64_t size = h[1] & ~(uint64_t)7, correction = h[0];
    if ((h[1] & 7) != 2 || correction >= 4096 * 16 || size < 4096 || at + correction + size > v->end ||
        ((correction + size) & 4095) != 0)
      break;
    usable += size - 16;
    blocks++;
    at += correction + size;
    covered = at - v->start;
  }
  if (!blocks) return;
  uint64_t len = v->end - v->start;
  uint64_t resident = len ? (uint64_t)((double)v->anon * ((double)covered / (double)len)) : 0;
  f->direct += resident;
  f->direct_usable += usable;
  f->direct_blocks += blocks;
}

/* walk_direct: find glibc's direct blocks by their chunk headers (only when probe.c keeps no table of them). */
static void classify(const struct vma *v, const struct vma *prev, int glibc, int walk_direct, struct map_figures *f) {
  f->anon += v->anon;
  f->lazyfree += v->lazyfree;
  if (!v->anon) return;
  if ((own_stack_lo < v->end && v->start < own_stack_hi) || (probe_bss >= v->start && probe_bss < v->end)) {
    f->probe += v->anon;
    return;
  }
  if (v->named_stack) {
    f->stacks += v->anon;
    return;
  }
  if (glibc && v->named_heap) {
    f->heap += v->anon;
    return;
  }
  if (!v->anonymous_mapping || strcmp(v->perms, "rw-p") != 0) return; /* library data, other kinds: the remainder */
  if (glibc && is_arena_heap(v)) {
    f->heap += v->anon;
    return;
  }
  /* A thread stack: a guard page (no access) right below it that is not the tail of an arena heap. */
  if (prev && prev->end == v->start && prev->anonymous_mapping && strcmp(prev->perms, "---p") == 0 &&
      prev->end - prev->start <= (1u << 20) && (prev->end & (HEAP_MAX - 1)) != 0) {
    f->stacks += v->anon;
    return;
  }
  if (glibc && walk_direct) direct_chunks(v, f);
}

static uint64_t kib_field(const char *line, const char *name) {
  size_t n = strlen(name);
  if (strncmp(line, name, n) != 0) return UINT64_MAX;
  return strtoull(line + n, NULL, 10) * 1024;
}

static void parse_header(const char *line, struct vma *v) {
  memset(v, 0, sizeof *v);
  unsigned long start, end, inode;
  char perms[8] = "";
  int path_at = 0;
  if (sscanf(line, "%lx-%lx %7s %*s %*s %lu %n", &start, &end, perms, &inode, &path_at) < 4) return;
  v->start = start;
  v->end = end;
  memcpy(v->perms, perms, 4);
  const char *path = path_at ? line + path_at : "";
  v->anonymous_mapping = inode == 0 && (*path == 0 || *path == '\n');
  v->named_heap = strncmp(path, "[heap]", 6) == 0;
  v->named_stack = strncmp(path, "[stack]", 7) == 0;
}

/* One pass over /proc/self/smaps with a fixed buffer: nothing allocated, no lock of the allocator taken. */
static int read_map(int glibc, int walk_direct, struct map_figures *f) {
  memset(f, 0, sizeof *f);
  int fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  static char buf[65536];
  size_t have = 0;
  struct vma cur, prev;
  int in_vma = 0, have_prev = 0;
  for (;;) {
    ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    have += (size_t)r;
    buf[have] = 0;
    char *line = buf, *nl;
    while ((nl = memchr(line, '\n', have - (size_t)(line - buf))) != NULL) {
      *nl = 0;
      uint64_t v;
      /* A header starts with a hex address; field lines with a capitalised name. */
      if ((*line >= '0' && *line <= '9') || (*line >= 'a' && *line <= 'f')) {
        if (in_vma) {
          classify(&cur, have_prev ? &prev : NULL, glibc, walk_direct, f);
          prev = cur;
          have_prev = 1;
        }
        parse_header(line, &cur);
        in_vma = 1;
      } else if ((v = kib_field(line, "Anonymous:")) != UINT64_MAX) {
        cur.anon = v;
      } else if ((v = kib_field(line, "LazyFree:")) != UINT64_MAX) {
        cur.lazyfree = v;
      }
      line = nl + 1;
    }
    have -= (size_t)(line - buf);
    memmove(buf, line, have);
  }
  close(fd);
  if (in_vma) classify(&cur, have_prev ? &prev : NULL, glibc, walk_direct, f);
  return in_vma;
}

/* The live counters summed now (the reader does the same sum; here it pairs them with the map). */
static void live_now(int64_t *bytes, int64_t *blocks) {
  struct probe_shm *m = probe_file();
  int64_t b = 0, a = 0;
  for (unsigned i = 0; i < PROBE_SHARDS; i++) {
    b += __atomic_load_n(&m->shard[i].live_bytes, __ATOMIC_RELAXED);
    a += (int64_t)(__atomic_load_n(&m->shard[i].allocations, __ATOMIC_RELAXED) - __atomic_load_n(&m->shard[i].frees, __ATOMIC_RELAXED));
  }
  *bytes = b;
  *blocks = a;
}

/* The direct blocks the probe recorded: their usable bytes and count, and their resident pages by mincore
 * (per block, in steps of 16 MiB). 0 when the probe keeps no table (the map walk is used instead). */
static int direct_from_table(struct map_figures *f) {
  static struct probe_direct_block blocks[PROBE_DIRECT_MAX];
  static unsigned char vec[4096];
  int n = probe_direct_blocks(blocks, sizeof blocks / sizeof blocks[0]);
  if (n < 0) return 0;
  for (int i = 0; i < n; i++) {
    f->direct_usable += blocks[i].usable;
    f->direct_blocks++;
    /* A block freed since the copy was made may be unmapped: mincore then fails, and it counts for nothing. */
    for (uint64_t at = 0; at < blocks[i].len; at += sizeof vec * 4096) {
      uint64_t len = blocks[i].len - at < sizeof vec * 4096 ? blocks[i].len - at : sizeof vec * 4096;
      if (mincore((void *)(blocks[i].start + at), len, vec) != 0) break;
      for (uint64_t k = 0; k < (len + 4095) / 4096; k++) f->direct += (vec[k] & 1) * 4096ull;
    }
  }
  return 1;
}

static void collect_map(struct stat_set *s, int glibc) {
  uint64_t t0 = cpu_ns();
  int64_t live, blocks;
  struct map_figures f, table = {0};
  /* The table first: its blocks are then at most as recent as the live counters read next. */
  int from_table = glibc && direct_from_table(&table);
  live_now(&live, &blocks);
  if (!read_map(glibc, !from_table, &f)) return;
  if (from_table) {
    f.direct = table.direct;
    f.direct_usable = table.direct_usable;
    f.direct_blocks = table.direct_blocks;
  }
  put(s, PMAP_LIVE_BYTES, (uint64_t)(live > 0 ? live : 0));
  put(s, PMAP_LIVE_BLOCKS, (uint64_t)(blocks > 0 ? blocks : 0));
  put(s, PMAP_ANON, f.anon);
  if (glibc) {
    put(s, PMAP_HEAP, f.heap);
    put(s, PMAP_DIRECT, f.direct);
    put(s, PMAP_DIRECT_USABLE, f.direct_usable);
    put(s, PMAP_DIRECT_BLOCKS, f.direct_blocks);
  }
  put(s, PMAP_STACKS, f.stacks);
  put(s, PMAP_LAZYFREE, f.lazyfree);
  put(s, PMAP_PROBE, f.probe);
  put(s, PMAP_COST_NS, cpu_ns() - t0);
}

/* ---- per allocator ----------------------------------------------------------------------------------- */

static unsigned glibc_arena_count_xml(void) {
  /* malloc_info walks the same free lists mallinfo2 does; its XML has one <heap nr=...> per arena. */
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return 0;
  malloc_info(0, f);
  fclose(f);
  unsigned n = 0;
  for (const char *p = buf; p && (p = strstr(p, "<heap nr=")) != NULL; p++) n++;
  free(buf);
  return n;
}

static uint64_t cross_min_ns = MALLINFO_MIN_NS;

static struct {
  uint64_t at, cost, next;
  struct mallinfo2 mi;
  unsigned arenas;
} cross;

static void collect_glibc(struct stat_set *s) {
  struct arenas a;
  if (arena_ring && walk_arenas(arena_ring, &a)) {
    put(s, GLIBC_ARENAS, a.count);
    put(s, GLIBC_SYSTEM_MEM, a.system_mem);
    put(s, GLIBC_TOP_BYTES, a.top_bytes);
  }
  uint64_t t = now_ns();
  if (t >= cross.next) {
    uint64_t c0 = cpu_ns();
    cross.mi = mallinfo2();
    if (!arena_ring) cross.arenas = glibc_arena_count_xml();
    cross.at = now_ns();
    cross.cost = cpu_ns() - c0;
    cross.next = cross.at + (cross.cost * MALLINFO_SHARE > cross_min_ns ? cross.cost * MALLINFO_SHARE : cross_min_ns);
  }
  put(s, GLIBC_ARENA, cross.mi.arena);
  put(s, GLIBC_UORDBLKS, cross.mi.uordblks);
  put(s, GLIBC_FORDBLKS, cross.mi.fordblks);
  put(s, GLIBC_HBLKHD, cross.mi.hblkhd);
  put(s, GLIBC_KEEPCOST, cross.mi.keepcost);
  put(s, GLIBC_HBLKS, cross.mi.hblks);
  put(s, GLIBC_MALLINFO_NS, cross.at);
  put(s, GLIBC_MALLINFO_COST_NS, cross.cost);
  if (!arena_ring && cross.arenas) put(s, GLIBC_ARENAS, cross.arenas);
}

typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);
static mallctl_fn je_ctl;

static int je_read(const char *name, void *out, size_t size) {
  size_t sz = size;
  return je_ctl(name, out, &sz, NULL, 0) == 0 && sz == size;
}

static void collect_jemalloc(struct stat_set *s) {
  if (!je_ctl) je_ctl = (mallctl_fn)lookup("mallctl");
  if (!je_ctl) return;
  uint64_t epoch = 1;
  size_t sz = sizeof epoch;
  if (je_ctl("epoch", &epoch, &sz, &epoch, sz) != 0) return;
  static const struct { const char *name; int slot; } keys[] = {
    {"stats.allocated", JE_ALLOCATED}, {"stats.active", JE_ACTIVE}, {"stats.resident", JE_RESIDENT},
    {"stats.retained", JE_RETAINED}, {"stats.mapped", JE_MAPPED}, {"stats.metadata", JE_METADATA},
  };
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    size_t v = 0;
    if (je_read(keys[i].name, &v, sizeof v)) put(s, keys[i].slot, v);
  }
  unsigned narenas = 0;
  if (je_read("arenas.narenas", &narenas, sizeof narenas)) put(s, JE_NARENAS, narenas);
  /* 4096 = MALLCTL_ARENAS_ALL: every arena merged. Page counts times the page size. */
  size_t page = 0, dirty = 0, muzzy = 0;
  if (je_read("arenas.page", &page, sizeof page)) {
    if (je_read("stats.arenas.4096.pdirty", &dirty, sizeof dirty)) put(s, JE_DIRTY, dirty * page);
    if (je_read("stats.arenas.4096.pmuzzy", &muzzy, sizeof muzzy)) put(s, JE_MUZZY, muzzy * page);
  }
  _Bool bg = 0;
  if (je_read("background_thread", &bg, sizeof bg)) put(s, JE_BACKGROUND_THREAD, bg);
  ssize_t decay = 0;
  if (je_read("arenas.dirty_decay_ms", &decay, sizeof decay)) put(s, JE_DIRTY_DECAY_MS, (uint64_t)(int64_t)decay);
  if (je_read("arenas.muzzy_decay_ms", &decay, sizeof decay)) put(s, JE_MUZZY_DECAY_MS, (uint64_t)(int64_t)decay);
}

static void collect_tcmalloc(struct stat_set *s) {
  static int (*get)(const char *, size_t *);
  if (!get) get = lookup("MallocExtension_GetNumericProperty");
  if (!get) return;
  static const struct { const char *name; int slot; } keys[] = {
    {"generic.current_allocated_bytes", TC_ALLOCATED}, {"generic.heap_size", TC_HEAP_SIZE},
    {"tcmalloc.pageheap_free_bytes", TC_PAGEHEAP_FREE}, {"tcmalloc.pageheap_unmapped_bytes", TC_PAGEHEAP_UNMAPPED},
    {"tcmalloc.current_total_thread_cache_bytes", TC_THREAD_CACHE}, {"tcmalloc.central_cache_free_bytes", TC_CENTRAL_FREE},
    {"tcmalloc.transfer_cache_free_bytes", TC_TRANSFER_FREE}, {"tcmalloc.metadata_bytes", TC_METADATA},
  };
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    size_t v = 0;
    if (get(keys[i].name, &v)) put(s, keys[i].slot, v);
  }
}

static void collect_mimalloc(struct stat_set *s) {
  static void (*info)(size_t *, size_t *, size_t *, size_t *, size_t *, size_t *, size_t *, size_t *);
  static long (*option_get)(int);
  static int (*version)(void);
  if (!info) info = lookup("mi_process_info");
  if (!option_get) option_get = lookup("mi_option_get");
  if (!version) version = lookup("mi_version");
  if (!info) return;
  size_t elapsed, user, sys, rss, peak_rss, commit, peak_commit, faults;
  info(&elapsed, &user, &sys, &rss, &peak_rss, &commit, &peak_commit, &faults);
  put(s, MI_COMMIT, commit);
  put(s, MI_PEAK_COMMIT, peak_commit);
  put(s, MI_RSS, rss);
  put(s, MI_PEAK_RSS, peak_rss);
  int v = version ? version() : 0;
  if (v) put(s, MI_VERSION, (uint64_t)v);
  /* The option numbers of mimalloc 2.0.x (mi_option_e): 15 decommit_delay (env MIMALLOC_RESET_DELAY too),
   * 23 segment_decommit_delay. Other versions number them differently: not read. */
  if (option_get && v >= 200 && v < 210) {
    put(s, MI_DECOMMIT_DELAY, (uint64_t)option_get(15));
    put(s, MI_SEGMENT_DECOMMIT_DELAY, (uint64_t)option_get(23));
  }
}

/* ---- publication and requests ------------------------------------------------------------------------ */

static void publish(const struct stat_set *set) {
  struct probe_stats *st = &probe_file()->s;
  uint64_t seq = st->seq;
  __atomic_store_n(&st->seq, seq + 1, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  st->valid = set->valid;
  memcpy(st->slot, set->slot, sizeof st->slot);
  st->time_ns = now_ns();
  st->count++;
  __atomic_thread_fence(__ATOMIC_RELEASE);
  __atomic_store_n(&st->seq, seq + 2, __ATOMIC_RELAXED);
}

static uint64_t rss_bytes(void) {
  char buf[128];
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  unsigned long size = 0, resident = 0;
  if (sscanf(buf, "%lu %lu", &size, &resident) != 2) return 0;
  return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Asks the allocator to give free memory back to the OS; its return value, or -1 when it has no way to. */
static int64_t give_back(int kind) {
  switch (kind) {
    case PROBE_ALLOC_GLIBC: return malloc_trim(0);
    case PROBE_ALLOC_JEMALLOC: {
      if (!je_ctl) je_ctl = (mallctl_fn)lookup("mallctl");
      return je_ctl && je_ctl("arena.4096.purge", NULL, NULL, NULL, 0) == 0 ? 1 : -1;
    }
    case PROBE_ALLOC_TCMALLOC: {
      void (*release)(void) = (void (*)(void))lookup("MallocExtension_ReleaseFreeMemory");
      if (!release) return -1;
      release();
      return 1;
    }
    case PROBE_ALLOC_MIMALLOC: {
      void (*collect)(_Bool) = (void (*)(_Bool))lookup("mi_collect");
      if (!collect) return -1;
      collect(1);
      return 1;
    }
    default: return -1;
  }
}

/* A requester wrote request_op, then bumped request_seq: run it here and say so through done_seq. */
static int answer_requests(void) {
  struct probe_control *c = &probe_file()->c;
  uint64_t seq = __atomic_load_n(&c->request_seq, __ATOMIC_ACQUIRE);
  if (seq == __atomic_load_n(&c->done_seq, __ATOMIC_RELAXED)) return 0;
  uint32_t op = __atomic_load_n(&c->request_op, __ATOMIC_RELAXED);
  int64_t result = -1;
  uint64_t before = rss_bytes(), after = before;
  if (op == PROBE_OP_TRIM) {
    result = give_back(probe_allocator_kind());
    after = rss_bytes();
  }
  c->result = result;
  c->rss_before = before;
  c->rss_after = after;
  c->done_ns = now_ns();
  __atomic_store_n(&c->done_seq, seq, __ATOMIC_RELEASE);
  return 1;
}

void *probe_stats_thread(void *arg) {
  (void)arg;
  /* Everything this thread allocates (open_memstream, allocator internals) stays out of the counts. */
  probe_internal_thread();
  /* Named, so `top -H` and perf (--sort comm) show what the probe's thread costs, kernel time included. */
  pthread_setname_np(pthread_self(), "alloclab-probe");
  probe_bss = (uintptr_t)probe_bss_marker;
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void *lo;
    size_t size;
    if (pthread_attr_getstack(&attr, &lo, &size) == 0) {
      own_stack_lo = (uintptr_t)lo;
      own_stack_hi = (uintptr_t)lo + size;
    }
    pthread_attr_destroy(&attr);
  }
  int kind = probe_allocator_kind();
  /* The first cross-check after a second: at start the heap is empty and mallinfo2 would say nothing. */
  cross.next = now_ns() + 1000000000ull;
  /* bench/ledger.ts compares the methods at every round: it asks for the cross-check more often. */
  const char *every = getenv("ALLOCLAB_PROBE_MALLINFO_MS");
  if (every && atoll(every) > 0) cross_min_ns = (uint64_t)atoll(every) * 1000000ull;
  if (kind == PROBE_ALLOC_GLIBC) {
    find_arenas();
    if (arena_ring) __atomic_fetch_or(&probe_file()->h.flags, PROBE_FLAG_ARENA_LIST, __ATOMIC_RELAXED);
  }
  for (;;) {
    uint64_t t0 = now_ns(), c0 = cpu_ns();
    struct stat_set set = {0};
    switch (kind) {
      case PROBE_ALLOC_GLIBC: collect_glibc(&set); break; /* mallinfo2 reads 0 under any other allocator */
      case PROBE_ALLOC_JEMALLOC: collect_jemalloc(&set); break;
      case PROBE_ALLOC_TCMALLOC: collect_tcmalloc(&set); break;
      case PROBE_ALLOC_MIMALLOC: collect_mimalloc(&set); break;
      default: break;
    }
    collect_map(&set, kind == PROBE_ALLOC_GLIBC);
    uint64_t cost = cpu_ns() - c0;
    put(&set, STAT_COST_NS, cost);
    publish(&set);
    /* The cross-check's cost is paced on its own; the rest of a round keeps the thread under 2 % of a core. */
    uint64_t own = cost > cross.cost && cross.at >= t0 ? cost - cross.cost : cost;
    uint64_t interval = own * MAX_ROUND_SHARE > ROUND_NS ? own * MAX_ROUND_SHARE : ROUND_NS;
    uint64_t due = t0 + interval;
    for (uint64_t t = now_ns(); t < due; t = now_ns()) {
      if (answer_requests()) break; /* publish right after a request: the reader sees its effect at once */
      sleep_ns(due - t < POLL_NS ? due - t : POLL_NS);
    }
  }
  return NULL;
}
