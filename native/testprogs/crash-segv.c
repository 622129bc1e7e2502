// crash-segv [DELAY_MS]: prints "started", then dies of SIGSEGV after DELAY_MS (default 200).
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
  long ms = argc > 1 ? atol(argv[1]) : 200;
  printf("started\n");
  fflush(stdout);
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
  fprintf(stderr, "crash-segv: about to crash\n");
  // Make sure the default action runs even if a parent left SIGSEGV ignored.
  signal(SIGSEGV, SIG_DFL);
  volatile int *p = NULL;
  *p = 42;
  return 0;
}
