// sleeper [--ignore-term] [--print-every MS]: prints "ready" and waits. With --ignore-term it survives SIGTERM
// (so a stop must escalate to SIGKILL); with --print-every it prints a numbered line every MS milliseconds.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
  long every = 0;
  int ignore = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--ignore-term") == 0) ignore = 1;
    else if (strcmp(argv[i], "--print-every") == 0 && i + 1 < argc) every = atol(argv[++i]);
  }
  signal(SIGTERM, ignore ? SIG_IGN : on_term);
  printf("ready pid %d\n", (int)getpid());
  fflush(stdout);
  for (long n = 0; !stop; n++) {
    if (every > 0) {
      struct timespec ts = {every / 1000, (every % 1000) * 1000000L};
      nanosleep(&ts, NULL);
      printf("tick %ld\n", n);
      fflush(stdout);
    } else {
      pause();
    }
  }
  return 0;
}
