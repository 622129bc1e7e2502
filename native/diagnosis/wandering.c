// Corpus: memory that wanders without a trend. The program keeps a backlog of 256 KiB jobs (malloc'd and
// written); every request either queues one more job or completes the newest one, with even odds, so the backlog
// is a random walk without drift. It starts at 256 jobs (64 MiB) and is kept between 0 and 512 (reflected there),
// bounds it does not reach in a minute: at 200 requests/s it moves about 3.5 MiB a second, about 25 MiB in 45 s
// either way. The random seed differs from run to run and from one environment to the next, so each sees a path
// of its own.
// Truth: no trend by construction, but over a window of a minute a walk goes up or down as far as a leak or a
// release would: the data cannot decide, and the honest answer is inconclusive, never a leak.
//   wandering PORT [START_JOBS=256]
#include "mini_http.h"
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#define JOB_BYTES (256u << 10)
#define MAX_JOBS 512
static unsigned char *jobs[MAX_JOBS];
static int queued;
static uint64_t rng;

static uint64_t next_random(void) {
  rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
  return rng;
}

static void push(void) {
  unsigned char *job = malloc(JOB_BYTES);
  if (!job) return;
  memset(job, 0x5a, JOB_BYTES);
  jobs[queued++] = job;
}

static void pop(void) {
  free(jobs[--queued]);
}

static void handle(void *ctx) {
  (void)ctx;
  int up = next_random() & 1;
  if (queued == 0) up = 1;
  else if (queued == MAX_JOBS) up = 0;
  if (up) push(); else pop();
}

int main(int argc, char **argv) {
  int port = mini_http_port_arg(argc, argv);
  int start = argc > 2 ? atoi(argv[2]) : 256;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^ 0x9e3779b97f4a7c15ull;
  if (start < 0) start = 0;
  if (start > MAX_JOBS) start = MAX_JOBS;
  for (int i = 0; i < start; i++) push();
  mini_http_serve(port, handle, NULL);
}
