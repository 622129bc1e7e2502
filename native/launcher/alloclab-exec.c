/*
 * alloclab-exec PARENT_PID FILE [ARG...]: asks the kernel to SIGKILL this process when its parent dies
 * (PR_SET_PDEATHSIG survives execve), then execs FILE with ARGs and the environment unchanged.
 *
 * Linked statically on purpose: without a dynamic loader, the LD_PRELOAD meant for the target (an allocator,
 * the probe) is never loaded into this short-lived step, so nothing the target's environment preloads runs twice.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: alloclab-exec PARENT_PID FILE [ARG...]\n");
    return 127;
  }
  char *end = NULL;
  long parent = strtol(argv[1], &end, 10);
  if (!end || *end != '\0' || parent <= 0) {
    fprintf(stderr, "alloclab-exec: bad parent pid \"%s\"\n", argv[1]);
    return 127;
  }
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
    fprintf(stderr, "alloclab-exec: PR_SET_PDEATHSIG: %s\n", strerror(errno));
    return 127;
  }
  /* The parent may have died between fork and prctl: then nobody would ever send the signal. */
  if (getppid() != (pid_t)parent) return 127;
  const char *file = argv[2];
  if (strchr(file, '/')) execv(file, argv + 2);
  else execvp(file, argv + 2);
  fprintf(stderr, "alloclab-exec: cannot run %s: %s\n", file, strerror(errno));
  return 127;
}
