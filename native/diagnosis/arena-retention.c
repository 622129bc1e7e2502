// Corpus: glibc arena retention with many threads. Every request is a job for one of 16 worker threads (each
// gets its own glibc arena). Most jobs are small; every 50th is a report that builds 12 MiB of 8 KiB chunks,
// holds them 200 ms and frees them, and the reports go round the workers in turn. Every job also files a 256-byte
// record in a shared, bounded history (4 MiB) whose oldest records are freed by whichever thread files the next:
// frees cross threads, and records filed during a report land between its chunks and pin that arena's heap (the
// history fills over several minutes: about 2 MiB/min of live heap, a sliver of what glibc keeps). The
// live heap stays near 15 MiB. glibc keeps every arena at its reports' high water (about 185 MiB in all, reached
// in ~20 s) and never returns the free pages between the records; tcmalloc's shared page heap reuses one report's
// pages for the next (about 50 MiB); jemalloc is in between (about 105 MiB).
// Truth: RSS far above the live heap under glibc, and far above what tcmalloc needs for the same work.
//   arena-retention PORT [THREADS=16] [REPORT_EVERY=50] [REPORT_MIB=12]
#include "mini_http.h"
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#define MAX_THREADS 64
#define HISTORY_BYTES (4u << 20)
#define CHUNK_BYTES 8192
#define RECORD_BYTES 256
#define REPORT_HOLD_NS 200000000L

struct record { struct record *next; size_t size; };
struct worker {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int small_jobs, reports;
  uint64_t rng;
};

static struct worker workers[MAX_THREADS];
static int nthreads = 16, report_every = 50;
static size_t report_bytes = 12u << 20;
static struct record *history_oldest, *history_newest;
static size_t history_bytes;
static pthread_mutex_t history_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned long requests, reports_sent;
static uint64_t dispatch_rng = 88172645463325252ull;

static uint64_t next_random(uint64_t *state) {
  *state ^= *state << 13; *state ^= *state >> 7; *state ^= *state << 17;
  return *state;
}

static void file_record(void) {
  size_t size = RECORD_BYTES;
  struct record *r = malloc(size);
  memset(r, 2, size);
  r->size = size;
  r->next = NULL;
  struct record *evicted = NULL;
  pthread_mutex_lock(&history_mu);
  if (history_newest) history_newest->next = r; else history_oldest = r;
  history_newest = r;
  history_bytes += size;
  while (history_bytes > HISTORY_BYTES) {
    struct record *o = history_oldest;
    history_oldest = o->next;
    history_bytes -= o->size;
    o->next = evicted;
    evicted = o;
  }
  pthread_mutex_unlock(&history_mu);
  while (evicted) {
    struct record *n = evicted->next;
    free(evicted);
    evicted = n;
  }
}

static void small_job(struct worker *w) {
  void *parts[8];
  for (int i = 0; i < 8; i++) {
    size_t size = 256 + next_random(&w->rng) % 3840;
    parts[i] = malloc(size);
    memset(parts[i], 1, size);
  }
  file_record();
  for (int i = 0; i < 8; i++) free(parts[i]);
}

static void report_job(struct worker *w) {
  (void)w;
  size_t got = 0, n = 0;
  void **chunks = malloc(sizeof(void *) * (report_bytes / CHUNK_BYTES + 1));
  while (got < report_bytes) {
    size_t size = CHUNK_BYTES;
    chunks[n] = malloc(size);
    memset(chunks[n], 3, size);
    got += size;
    if (n % 64 == 63) file_record();
    n++;
  }
  struct timespec hold = {0, REPORT_HOLD_NS};
  nanosleep(&hold, NULL);
  for (size_t i = 0; i < n; i++) free(chunks[i]);
  free(chunks);
}

static void *work(void *arg) {
  struct worker *w = arg;
  for (;;) {
    pthread_mutex_lock(&w->mu);
    while (!w->small_jobs && !w->reports) pthread_cond_wait(&w->cv, &w->mu);
    int report = w->reports > 0;
    if (report) w->reports--; else w->small_jobs--;
    pthread_mutex_unlock(&w->mu);
    if (report) report_job(w); else small_job(w);
  }
  return NULL;
}

static void handle(void *ctx) {
  (void)ctx;
  int report = ++requests % (unsigned long)report_every == 0;
  struct worker *w = &workers[report ? reports_sent++ % (unsigned long)nthreads : next_random(&dispatch_rng) % (uint64_t)nthreads];
  pthread_mutex_lock(&w->mu);
  if (report) w->reports++; else w->small_jobs++;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

int main(int argc, char **argv) {
  int port = mini_http_port_arg(argc, argv);
  if (argc > 2) nthreads = atoi(argv[2]);
  if (argc > 3) report_every = atoi(argv[3]);
  if (argc > 4) report_bytes = (size_t)atol(argv[4]) << 20;
  if (nthreads < 1) nthreads = 1;
  if (nthreads > MAX_THREADS) nthreads = MAX_THREADS;
  if (report_every < 1) report_every = 1;
  for (int i = 0; i < nthreads; i++) {
    pthread_mutex_init(&workers[i].mu, NULL);
    pthread_cond_init(&workers[i].cv, NULL);
    workers[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
    pthread_t t;
    pthread_create(&t, NULL, work, &workers[i]);
  }
  mini_http_serve(port, handle, NULL);
}
