/* ledgertest THREADS SECONDS: a target whose memory is known by construction, for the ledger's accuracy test.
 *
 * Each of THREADS threads (its own glibc arena, up to 8 per core) allocates 8 MiB in blocks of 64..4096 bytes,
 * frees every other block (free chunks the arena cannot return: "held"), touches 256 KiB of its stack, then
 * churns until SECONDS have passed: frees and allocates blocks of the same sizes, so its live bytes and the
 * free memory of its arena stay put while the allocator works flat out. The main thread also holds 4 blocks of
 * 1 MiB (directly mmapped by glibc), a 16 MiB anonymous mapping of its own ("other"), of which 4 MiB are given
 * back with MADV_FREE (lazily freed: still resident), placed right below the direct blocks so that the kernel
 * merges it with them into one mapping. Every 200 ms it prints a truth line:
 *   truth NS live L free F direct D stacks S own O lazy Z arenas A
 * NS: CLOCK_MONOTONIC; L: usable bytes of the live blocks (malloc_usable_size); F: mallinfo2 fordblks (the free
 * chunks, walked by glibc itself; this program pays that, not the probe); D: the mmapped blocks' bytes; S: stack
 * bytes touched; O: own mapping resident; Z: bytes given back with MADV_FREE; A: arenas (threads + main).
 * "ready" once every thread is churning; exits after SECONDS (or on SIGTERM).
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PER_THREAD (8u << 20)
#define STACK_TOUCH (256u << 10)
#define DIRECT_BLOCKS 4
#define OWN_MAP (16u << 20)
#define LAZY (4u << 20)

static atomic_long live;
static atomic_int churning;
static volatile sig_atomic_t stop;
static double seconds;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_term(int sig) {
  (void)sig;
  stop = 1;
}

static __attribute__((noinline)) void touch_stack(void) {
  volatile char area[STACK_TOUCH];
  for (size_t i = 0; i < sizeof area; i += 512) area[i] = (char)i;
}

static void *worker(void *arg) {
  unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u;
  touch_stack();
  /* Arrays small enough to live in the heap (under the mmap threshold): only the main thread's blocks are mmapped. */
  size_t n = 0, cap = 8192;
  void **blocks = malloc(cap * sizeof *blocks);
  size_t *sizes = malloc(cap * sizeof *sizes);
  live += (long)(malloc_usable_size(blocks) + malloc_usable_size(sizes));
  for (size_t total = 0; total < PER_THREAD && n < cap; n++) {
    size_t sz = 64 + (size_t)(rand_r(&seed) % 4033);
    blocks[n] = malloc(sz);
    sizes[n] = sz;
    memset(blocks[n], 1, sz);
    total += sz;
    live += (long)malloc_usable_size(blocks[n]);
  }
  /* Every other block freed: holes between live blocks, which no trim of the top can return. */
  for (size_t i = 0; i < n; i += 2) {
    live -= (long)malloc_usable_size(blocks[i]);
    free(blocks[i]);
    blocks[i] = NULL;
  }
  churning++;
  while (!stop) {
    /* Free a live block and allocate one of the same size: live and free stay constant, the allocator works. */
    size_t i = 1 + 2 * ((size_t)rand_r(&seed) % (n / 2));
    long before = (long)malloc_usable_size(blocks[i]);
    free(blocks[i]);
    blocks[i] = malloc(sizes[i]);
    memset(blocks[i], 2, 16);
    live += (long)malloc_usable_size(blocks[i]) - before;
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: ledgertest THREADS SECONDS\n");
    return 2;
  }
  int threads = atoi(argv[1]);
  seconds = atof(argv[2]);
  if (threads < 1 || threads > 256 || seconds <= 0) {
    fprintf(stderr, "ledgertest: bad arguments\n");
    return 2;
  }
  signal(SIGTERM, on_term);
  /* A fixed threshold, so the 1 MiB blocks are mmapped whatever was freed before. */
  mallopt(M_MMAP_THRESHOLD, 512 * 1024);
  void *direct[DIRECT_BLOCKS];
  size_t direct_bytes = 0;
  for (int i = 0; i < DIRECT_BLOCKS; i++) {
    direct[i] = malloc(1 << 20);
    memset(direct[i], 3, 1 << 20);
    direct_bytes += malloc_usable_size(direct[i]) + 16;
  }
  /* The own mapping goes right below the direct blocks' mappings, so that the kernel merges them into one mapping
   * that starts with the program's own bytes, not with a chunk header (as MariaDB's are): the ledger must still
   * find the direct blocks. */
  uintptr_t lowest = UINTPTR_MAX;
  for (int i = 0; i < DIRECT_BLOCKS; i++) {
    const size_t *chunk = (const size_t *)direct[i] - 2;
    uintptr_t start = (uintptr_t)chunk - chunk[0];
    if (start < lowest) lowest = start;
  }
  char *own = mmap((void *)(lowest - OWN_MAP), OWN_MAP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (own == MAP_FAILED) own = mmap(NULL, OWN_MAP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (own == MAP_FAILED) return 1;
  memset(own, 4, OWN_MAP);
  size_t lazy = madvise(own, LAZY, MADV_FREE) == 0 ? LAZY : 0;
  pthread_t *t = malloc((size_t)threads * sizeof *t);
  for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1));
  while (churning < threads) usleep(1000);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int arenas = threads + 1 < 8 * cores ? threads + 1 : (int)(8 * cores);
  printf("ready\n");
  fflush(stdout);
  uint64_t end = now_ns() + (uint64_t)(seconds * 1e9);
  while (!stop && now_ns() < end) {
    struct mallinfo2 mi = mallinfo2();
    uint64_t at = now_ns();
    printf("truth %llu live %ld free %zu direct %zu stacks %zu own %zu lazy %zu arenas %d\n", (unsigned long long)at,
           (long)live, mi.fordblks, direct_bytes, (size_t)threads * STACK_TOUCH, (size_t)OWN_MAP - lazy, lazy, arenas);
    fflush(stdout);
    usleep(200000);
  }
  stop = 1;
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
  unsigned long sum = 0;
  for (int i = 0; i < DIRECT_BLOCKS; i++) sum += ((unsigned char *)direct[i])[100];
  printf("bye %lu\n", sum + (unsigned char)own[OWN_MAP - 1]);
  return 0;
}
