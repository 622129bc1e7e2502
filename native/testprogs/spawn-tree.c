// spawn-tree [--leader-exits MS]: forks a child that forks a grandchild; all three sleep. Prints
// "child PID" and "grandchild PID" lines, then "ready". With --leader-exits the leader exits after MS
// milliseconds and leaves its descendants behind (what a daemonising service does).
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_forever(void) {
  for (;;) pause();
}

int main(int argc, char **argv) {
  long leader_exits = -1;
  if (argc > 2 && strcmp(argv[1], "--leader-exits") == 0) leader_exits = atol(argv[2]);
  int fds[2];
  if (pipe(fds) != 0) return 1;
  pid_t child = fork();
  if (child < 0) return 1;
  if (child == 0) {
    pid_t grandchild = fork();
    if (grandchild == 0) {
      close(fds[0]);
      close(fds[1]);
      sleep_forever();
    }
    // The child reports the grandchild's pid through the pipe, so the leader prints everything in order.
    close(fds[0]);
    if (write(fds[1], &grandchild, sizeof grandchild) != sizeof grandchild) _exit(1);
    close(fds[1]);
    sleep_forever();
  }
  close(fds[1]);
  pid_t grandchild = 0;
  if (read(fds[0], &grandchild, sizeof grandchild) != sizeof grandchild) return 1;
  close(fds[0]);
  printf("child %d\ngrandchild %d\nready\n", (int)child, (int)grandchild);
  fflush(stdout);
  if (leader_exits >= 0) {
    struct timespec ts = {leader_exits / 1000, (leader_exits % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return 0;
  }
  sleep_forever();
}
