// debugtest [--mb N] [--sleep-ms MS] [--trap]: the debuggee of the debugging-session tests. Allocates N MiB in
// 1 MiB blocks (touched, so they count in RSS), then frees them, with a marker line after each step where a test
// sets its breakpoint (found by the marker text, not a line number). --trap raises SIGTRAP after the allocation,
// so a debugger pauses there without any breakpoint (used for screenshots). --sleep-ms waits before each step,
// so a sampler sees the program before and after.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
  long mb = 32, pause_ms = 200;
  int trap = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--mb") == 0 && i + 1 < argc) mb = atol(argv[++i]);
    else if (strcmp(argv[i], "--sleep-ms") == 0 && i + 1 < argc) pause_ms = atol(argv[++i]);
    else if (strcmp(argv[i], "--trap") == 0) trap = 1;
  }
  printf("debugtest pid %d: %ld MiB\n", (int)getpid(), mb);
  fflush(stdout);
  sleep_ms(pause_ms);
  char **blocks = calloc((size_t)mb, sizeof *blocks);
  if (!blocks) return 1;
  for (long i = 0; i < mb; i++) {
    blocks[i] = malloc(1 << 20);
    if (!blocks[i]) return 1;
    memset(blocks[i], (int)(i & 0xff) | 1, 1 << 20);
  }
  printf("allocated %ld MiB\n", mb);
  fflush(stdout);
  if (trap) raise(SIGTRAP);
  sleep_ms(pause_ms); /* MARKER: after-alloc */
  for (long i = 0; i < mb; i++) free(blocks[i]);
  free(blocks);
  printf("freed\n");
  fflush(stdout);
  sleep_ms(pause_ms); /* MARKER: after-free */
  printf("done\n");
  return 0;
}
