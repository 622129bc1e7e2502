// static-hello: a statically linked program (no dynamic loader, so LD_PRELOAD is never read); prints and waits.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

int main(void) {
  signal(SIGTERM, on_term);
  char *p = malloc(1 << 20);
  if (p) memset(p, 1, 1 << 20);
  printf("hello from a static binary, pid %d\n", (int)getpid());
  fflush(stdout);
  while (!stop) pause();
  free(p);
  return 0;
}
