// Allocation sites of known roles, for testing attribution backends. Each role allocates on one line that
// carries a SITE marker comment; tests find the line by its marker, so editing this file cannot silently
// break them.
//   leak   grows steadily and is never freed (the growth and leaked rankings must name it)
//   churn  many short-lived small blocks (the calls ranking must name it)
//   cache  a bounded set of large blocks, larger than the leak at exit, freed before exit (peak ranking)
// Fixed work (not fixed time) so every backend sees the same allocations, however slow it makes the program.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ITERATIONS 1500
#define LEAK_BYTES 8192
#define CHURN_PER_ITER 200
#define CHURN_BYTES 48
#define CACHE_BLOCKS 32
#define CACHE_BLOCK_BYTES (1024 * 1024)

struct leaked { struct leaked *next; char payload[LEAK_BYTES - sizeof(void *)]; };
static struct leaked *leaked_head;
static char *cache[CACHE_BLOCKS];
static volatile unsigned long sink;

__attribute__((noinline)) static void leak_step(void) {
  struct leaked *p = malloc(sizeof *p); /* SITE:leak */
  memset(p->payload, 1, sizeof p->payload);
  p->next = leaked_head;
  leaked_head = p;
}

__attribute__((noinline)) static void churn_step(void) {
  for (int i = 0; i < CHURN_PER_ITER; i++) {
    char *b = malloc(CHURN_BYTES); /* SITE:churn */
    b[0] = (char)i;
    sink += (unsigned char)b[0];
    free(b);
  }
}

__attribute__((noinline)) static char *cache_block(void) {
  char *b = malloc(CACHE_BLOCK_BYTES); /* SITE:cache */
  // Touch one byte only: filling 32 MiB takes long enough on a busy machine to look like growth.
  b[0] = 2;
  return b;
}

static void pause_us(long us) {
  struct timespec ts = { 0, us * 1000 };
  nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
  long pause = argc > 1 ? atol(argv[1]) : 500; /* microseconds between iterations */
  for (int i = 0; i < CACHE_BLOCKS; i++) cache[i] = cache_block();
  pause_us(50000);
  for (int it = 0; it < ITERATIONS; it++) {
    leak_step();
    churn_step();
    // Rotate one cache block now and then: the cache stays bounded but keeps allocating.
    if (it % 100 == 0) {
      int slot = (it / 100) % CACHE_BLOCKS;
      free(cache[slot]);
      cache[slot] = cache_block();
    }
    if (pause > 0) pause_us(pause);
  }
  pause_us(50000);
  for (int i = 0; i < CACHE_BLOCKS; i++) free(cache[i]);
  printf("done %lu\n", sink);
  return 0;
}
