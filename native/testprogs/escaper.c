/*
 * escaper [fork] [setsid] [ignore] [tcp PORT]: a target that tries to outlive its run.
 *   fork    a child that sleeps forever in the same process group
 *   setsid  a double-forked daemon: the child calls setsid() (leaving the group and the session), forks again
 *           and exits, so the grandchild is re-parented to init and sleeps forever
 *   ignore  ignores SIGINT, SIGTERM and SIGHUP (inherited by the children started after it)
 *   tcp     listens on 127.0.0.1:PORT (for readiness)
 * Prints "ready" when all of that is done, then sleeps until killed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void sleep_forever(void) {
  for (;;) pause();
}

int main(int argc, char **argv) {
  int listen_fd = -1;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "ignore")) {
      signal(SIGINT, SIG_IGN);
      signal(SIGTERM, SIG_IGN);
      signal(SIGHUP, SIG_IGN);
    } else if (!strcmp(argv[i], "fork")) {
      pid_t pid = fork();
      if (pid == 0) sleep_forever();
    } else if (!strcmp(argv[i], "setsid")) {
      pid_t pid = fork();
      if (pid == 0) {
        setsid();
        if (fork() == 0) sleep_forever();
        _exit(0);
      }
      waitpid(pid, NULL, 0);
    } else if (!strcmp(argv[i], "tcp") && i + 1 < argc) {
      struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[++i]))};
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      int one = 1;
      listen_fd = socket(AF_INET, SOCK_STREAM, 0);
      setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (bind(listen_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(listen_fd, 16) != 0) {
        perror("escaper: listen");
        return 1;
      }
    }
  }
  printf("ready\n");
  fflush(stdout);
  sleep_forever();
}
