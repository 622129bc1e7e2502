/* A trivial HTTP/1.1 keep-alive server for bench/http.ts: one thread, epoll, a fixed 200 answer per request.
 * It takes the server out of the comparison between load drivers (a Node server would be the bottleneck).
 * Only bodiless requests (GET) are understood; a request ends at the blank line. Prints its port, then serves. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

static const char RESPONSE[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";

struct conn { int fd; int matched; }; /* matched: how much of "\r\n\r\n" the previous read ended with */

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0;
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 1024)) { perror("bind/listen"); return 1; }
  socklen_t len = sizeof a;
  getsockname(ls, (struct sockaddr *)&a, &len);
  printf("%d\n", ntohs(a.sin_port));
  fflush(stdout);
  int ep = epoll_create1(0);
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  struct epoll_event events[256];
  static char buf[65536], out[sizeof RESPONSE * 512];
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; i++) {
      if (!events[i].data.ptr) {
        int fd;
        while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct conn *c = calloc(1, sizeof *c);
          c->fd = fd;
          struct epoll_event cev = { .events = EPOLLIN, .data.ptr = c };
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      struct conn *c = events[i].data.ptr;
      ssize_t r = read(c->fd, buf, sizeof buf);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        close(c->fd);
        free(c);
        continue;
      }
      int requests = 0;
      static const char END[] = "\r\n\r\n";
      for (ssize_t k = 0; k < r; k++) {
        if (buf[k] == END[c->matched]) {
          if (++c->matched == 4) { requests++; c->matched = 0; }
        } else {
          c->matched = buf[k] == '\r' ? 1 : 0;
        }
      }
      size_t w = 0;
      for (int q = 0; q < requests; q++) {
        if (w + sizeof RESPONSE - 1 > sizeof out) { (void)!write(c->fd, out, w); w = 0; }
        memcpy(out + w, RESPONSE, sizeof RESPONSE - 1);
        w += sizeof RESPONSE - 1;
      }
      /* Loopback send buffers are large; a short write here would only drop a reply and show as a timeout. */
      if (w) (void)!write(c->fd, out, w);
    }
  }
}
