// Corpus: an application pool allocator that keeps its pages. Sessions take objects from the program's own
// pool, which carves them out of 256 KiB slabs obtained with malloc and never gives a slab back: freed objects
// go onto the pool's free list. Each request opens a session of 32 objects of 1 KiB; a session closes 8 s after
// it opened (a housekeeping thread), so the live objects rise for 8 s, level off under load (about 50 MiB at 200
// requests/s) and drop to none in idle, while the pool keeps its high water. Truth: bounded memory the program itself holds (malloc sees the slabs as live),
// the same under every allocator: application memory.
//   slab-pool PORT
#include "mini_http.h"
#include <pthread.h>
#include <time.h>

#define OBJECT_BYTES 1024
#define OBJECTS_PER_SESSION 32
#define SLAB_BYTES (256 * 1024)
#define SESSION_LIFETIME_NS 8000000000LL

struct object { struct object *next; };
struct session { struct session *next; long long opened_ns; struct object *objects; };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct object *free_objects;
static struct session *oldest, *newest;

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct object *pool_take(void) {
  if (!free_objects) {
    char *slab = malloc(SLAB_BYTES);
    if (!slab) return NULL;
    for (size_t off = 0; off + OBJECT_BYTES <= SLAB_BYTES; off += OBJECT_BYTES) {
      struct object *o = (struct object *)(slab + off);
      o->next = free_objects;
      free_objects = o;
    }
  }
  struct object *o = free_objects;
  free_objects = o->next;
  return o;
}

static void handle(void *ctx) {
  (void)ctx;
  struct session *s = malloc(sizeof *s);
  s->next = NULL;
  s->objects = NULL;
  s->opened_ns = now_ns();
  pthread_mutex_lock(&mu);
  for (int i = 0; i < OBJECTS_PER_SESSION; i++) {
    struct object *o = pool_take();
    if (!o) break;
    memset(o, 0x11, OBJECT_BYTES);
    o->next = s->objects;
    s->objects = o;
  }
  if (newest) newest->next = s; else oldest = s;
  newest = s;
  pthread_mutex_unlock(&mu);
}

static void *housekeeping(void *arg) {
  (void)arg;
  for (;;) {
    struct timespec tick = {0, 100000000L};
    nanosleep(&tick, NULL);
    long long cutoff = now_ns() - SESSION_LIFETIME_NS;
    pthread_mutex_lock(&mu);
    while (oldest && oldest->opened_ns < cutoff) {
      struct session *s = oldest;
      oldest = s->next;
      if (!oldest) newest = NULL;
      while (s->objects) {
        struct object *o = s->objects;
        s->objects = o->next;
        o->next = free_objects;
        free_objects = o;
      }
      free(s);
    }
    pthread_mutex_unlock(&mu);
  }
  return NULL;
}

int main(int argc, char **argv) {
  int port = mini_http_port_arg(argc, argv);
  pthread_t t;
  pthread_create(&t, NULL, housekeeping, NULL);
  mini_http_serve(port, handle, NULL);
}
