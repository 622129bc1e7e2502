// A tiny HTTP/1.1 server for the diagnosis corpus: one thread, poll(), keep-alive, 127.0.0.1 only. Every request
// calls the program's handler once (one unit of work) and is answered "200 ok". Header-only so each corpus
// program stays one file. Prints "listening on PORT" when ready; exits 4 when the port is taken.
#ifndef MINI_HTTP_H
#define MINI_HTTP_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* memmem */
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MINI_HTTP_MAX_CONN 256
#define MINI_HTTP_BUF 16384

typedef void (*mini_http_handler)(void *ctx);

struct mini_http_conn {
  int fd;
  size_t len;
  char buf[MINI_HTTP_BUF];
};

static int mini_http_port_arg(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PORT [options]\n", argv[0]);
    exit(2);
  }
  return atoi(argv[1]);
}

static int mini_http_listen(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr *)&addr, sizeof addr) != 0) {
    fprintf(stderr, "bind 127.0.0.1:%d: %s\n", port, strerror(errno));
    exit(4);
  }
  if (listen(s, 128) != 0) exit(1);
  return s;
}

/* Handles every complete request in c->buf; returns -1 when the connection must close. */
static int mini_http_drain(struct mini_http_conn *c, mini_http_handler h, void *ctx) {
  for (;;) {
    char *end = (char *)memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!end) return c->len >= MINI_HTTP_BUF ? -1 : 0;
    size_t head = (size_t)(end - c->buf) + 4;
    size_t body = 0;
    char *cl = (char *)memmem(c->buf, head, "Content-Length:", 15);
    if (!cl) cl = (char *)memmem(c->buf, head, "content-length:", 15);
    if (cl) body = (size_t)strtoul(cl + 15, NULL, 10);
    if (head + body > MINI_HTTP_BUF) return -1;
    if (c->len < head + body) return 0;
    h(ctx);
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";
    if (write(c->fd, resp, sizeof resp - 1) < 0) return -1;
    memmove(c->buf, c->buf + head + body, c->len - head - body);
    c->len -= head + body;
  }
}

/* Serves forever on 127.0.0.1:port. */
static void mini_http_serve(int port, mini_http_handler h, void *ctx) {
  signal(SIGPIPE, SIG_IGN);
  int ls = mini_http_listen(port);
  static struct mini_http_conn *conns[MINI_HTTP_MAX_CONN];
  static struct pollfd pfds[MINI_HTTP_MAX_CONN + 1];
  int n = 0;
  printf("listening on %d\n", port);
  fflush(stdout);
  for (;;) {
    pfds[0].fd = ls;
    pfds[0].events = POLLIN;
    for (int i = 0; i < n; i++) {
      pfds[i + 1].fd = conns[i]->fd;
      pfds[i + 1].events = POLLIN;
    }
    if (poll(pfds, (nfds_t)n + 1, -1) < 0) continue;
    for (int i = n - 1; i >= 0; i--) {
      if (!pfds[i + 1].revents) continue;
      struct mini_http_conn *c = conns[i];
      ssize_t r = read(c->fd, c->buf + c->len, MINI_HTTP_BUF - c->len);
      if (r <= 0 || (c->len += (size_t)r, mini_http_drain(c, h, ctx) < 0)) {
        close(c->fd);
        free(c);
        conns[i] = conns[--n];
      }
    }
    if (pfds[0].revents & POLLIN) {
      int fd = accept(ls, NULL, NULL);
      if (fd >= 0 && n < MINI_HTTP_MAX_CONN) {
        struct mini_http_conn *c = (struct mini_http_conn *)calloc(1, sizeof *c);
        c->fd = fd;
        conns[n++] = c;
      } else if (fd >= 0) {
        close(fd);
      }
    }
  }
}

#endif
