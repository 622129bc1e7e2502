// print-env [--wait]: writes every environment variable to stdout, each followed by a NUL byte; with --wait,
// then prints "ready" on stderr and waits for SIGTERM (so /proc/PID/environ and maps can be read).
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern char **environ;
static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
  signal(SIGTERM, on_term);
  for (char **e = environ; *e; e++) fwrite(*e, 1, strlen(*e) + 1, stdout);
  fflush(stdout);
  if (argc > 1 && strcmp(argv[1], "--wait") == 0) {
    fprintf(stderr, "ready\n");
    while (!stop) pause();
  }
  return 0;
}
