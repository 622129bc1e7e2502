// own-jemalloc: linked against libjemalloc (its own allocator); allocates, prints "ready", waits for SIGTERM.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// jemalloc's control interface, so the link really needs the library (not dropped by --as-needed).
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

int main(void) {
  signal(SIGTERM, on_term);
  const char *version = "?";
  size_t len = sizeof version;
  mallctl("version", &version, &len, NULL, 0);
  char *p = malloc(1 << 20);
  if (p) memset(p, 1, 1 << 20);
  printf("ready jemalloc %s pid %d\n", version, (int)getpid());
  fflush(stdout);
  while (!stop) pause();
  free(p);
  return 0;
}
