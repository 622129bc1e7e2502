// tiny-http PORT [DELAY_MS] [STATUS]: waits DELAY_MS, then listens on 127.0.0.1:PORT and answers every request
// with STATUS (default 200) and body "ok". Prints "listening on PORT". Exits 4 when the port is taken.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: tiny-http PORT [DELAY_MS] [STATUS]\n");
    return 2;
  }
  int port = atoi(argv[1]);
  long delay = argc > 2 ? atol(argv[2]) : 0;
  int status = argc > 3 ? atoi(argv[3]) : 200;
  signal(SIGPIPE, SIG_IGN);
  struct timespec ts = {delay / 1000, (delay % 1000) * 1000000L};
  nanosleep(&ts, NULL);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr *)&addr, sizeof addr) != 0) {
    fprintf(stderr, "tiny-http: bind 127.0.0.1:%d: %s\n", port, strerror(errno));
    return 4;
  }
  if (listen(s, 64) != 0) return 1;
  printf("listening on %d\n", port);
  fflush(stdout);
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) continue;
    char buf[4096];
    ssize_t n = read(c, buf, sizeof buf);
    (void)n;
    char resp[256];
    int len = snprintf(resp, sizeof resp,
                       "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nok",
                       status);
    if (write(c, resp, (size_t)len) < 0) { /* the client went away */ }
    close(c);
  }
}
