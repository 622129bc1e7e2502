/* Test target of the RSS sampler: allocates and touches a known number of bytes when told to,
 * so a test can check the sampler sees exactly that rise. Driven over stdin/stdout so the test
 * decides when the baseline ends (no sleeps to tune).
 *
 *   samplertest touch BYTES   prints "ready"; on a stdin line touches BYTES, prints "touched";
 *                             exits on the next line or EOF
 *   samplertest fork BYTES    prints "ready"; on a stdin line forks a child that touches BYTES and
 *                             prints "child-touched PID"; on the next line or EOF kills it and exits
 *   samplertest hold BYTES    touches BYTES at once, prints "touched", exits on EOF
 *   samplertest zombie 0      forks a child that exits at once and is never waited for, prints
 *                             "zombie PID" once it is one, exits on EOF
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Read by nobody, but volatile: keeps the compiler from eliding a malloc+memset whose result is never read. */
static char *volatile keep;

static void wait_line(void) {
  char buf[256];
  if (!fgets(buf, sizeof buf, stdin)) return;
}

static char *touch(size_t bytes) {
  char *p = malloc(bytes);
  if (!p) {
    perror("malloc");
    exit(3);
  }
  /* Non-zero so no page can stay shared with the zero page. */
  memset(p, 0x5a, bytes);
  return p;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s touch|fork|hold|zombie BYTES\n", argv[0]);
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  /* Unbuffered stdin: a buffer allocated on the first read would change RSS after "touched" was printed. */
  setvbuf(stdin, NULL, _IONBF, 0);
  size_t bytes = strtoull(argv[2], NULL, 10);

  if (strcmp(argv[1], "touch") == 0) {
    printf("ready\n");
    wait_line();
    keep = touch(bytes);
    printf("touched\n");
    wait_line();
  } else if (strcmp(argv[1], "fork") == 0) {
    printf("ready\n");
    wait_line();
    pid_t child = fork();
    if (child < 0) {
      perror("fork");
      return 3;
    }
    if (child == 0) {
      /* Never outlive the parent, whatever kills it. */
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() == 1) _exit(0);
      keep = touch(bytes);
      printf("child-touched %d\n", (int)getpid());
      for (;;) pause();
    }
    wait_line();
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
  } else if (strcmp(argv[1], "hold") == 0) {
    keep = touch(bytes);
    printf("touched\n");
    while (fgetc(stdin) != EOF) {
    }
  } else if (strcmp(argv[1], "zombie") == 0) {
    pid_t child = fork();
    if (child < 0) {
      perror("fork");
      return 3;
    }
    if (child == 0) _exit(0);
    /* waitid with WNOWAIT tells when it has ended without reaping it. */
    siginfo_t info;
    waitid(P_PID, (id_t)child, &info, WEXITED | WNOWAIT);
    printf("zombie %d\n", (int)child);
    while (fgetc(stdin) != EOF) {
    }
  } else {
    fprintf(stderr, "unknown mode %s\n", argv[1]);
    return 2;
  }
  return 0;
}
