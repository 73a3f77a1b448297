// The C floor: not a webhook receiver, the least any HTTP server can do per request on this machine. One
// thread, epoll, keep-alive connections; it frames each request (headers, then Content-Length bytes of body)
// and writes a fixed 200 with the peer's answer. No signature check, no JSON, no allocation per request. What
// it costs per request is the kernel's loopback TCP (read, write, epoll) and nothing else, so no server in
// any language answers these webhooks with less CPU: `load peer` reports it next to the Node.js peer to show
// the largest throughput ratio this machine can show at all.
//
//   cc -O2 -o cfloor cfloor.c && ./cfloor   # prints "listening http://127.0.0.1:<port>" once ready
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { MAX_REQUEST = 5 << 20 };

static const char ANSWER[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 21\r\n\r\n"
                             "{\"ok\":true,\"items\":1}";
static const char TOO_LARGE[] = "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

typedef struct {
  int fd;
  char *buf;
  size_t len, cap;
} conn;

// content_length returns the Content-Length of the headers in h[0:n], or 0 when there is none.
static long content_length(const char *h, size_t n) {
  static const char name[] = "\r\ncontent-length:";
  size_t k = sizeof name - 1;
  for (size_t i = 0; i + k <= n; i++) {
    if (strncasecmp(h + i, name, k) == 0) return strtol(h + i + k, NULL, 10);
  }
  return 0;
}

// write_all writes the whole answer, waiting for room in the socket buffer if the client is slow to read.
static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EAGAIN) {
      struct pollfd pf = {.fd = fd, .events = POLLOUT};
      poll(&pf, 1, 1000);
      continue;
    }
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static void drop(conn *c) {
  close(c->fd);
  free(c->buf);
  free(c);
}

// serve reads what the connection has and answers every complete request in it; it returns -1 when the
// connection is done.
static int serve(conn *c) {
  for (;;) {
    if (c->len == c->cap) {
      if (c->cap >= MAX_REQUEST) {
        write_all(c->fd, TOO_LARGE, sizeof TOO_LARGE - 1);
        return -1;
      }
      c->cap *= 2;
      c->buf = realloc(c->buf, c->cap);
      if (!c->buf) return -1;
    }
    ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) return -1;
    if (r < 0) return 0;
    c->len += (size_t)r;
    size_t off = 0;
    for (;;) {
      char *end = memmem(c->buf + off, c->len - off, "\r\n\r\n", 4);
      if (!end) break;
      size_t head = (size_t)(end - (c->buf + off)) + 4;
      long body = content_length(c->buf + off, head);
      if (body < 0 || body > MAX_REQUEST) {
        write_all(c->fd, TOO_LARGE, sizeof TOO_LARGE - 1);
        return -1;
      }
      if (c->len - off < head + (size_t)body) break;
      if (write_all(c->fd, ANSWER, sizeof ANSWER - 1) < 0) return -1;
      off += head + (size_t)body;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
  }
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  int one = 1;
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof addr;
  if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      bind(ls, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(ls, 1024) < 0 ||
      getsockname(ls, (struct sockaddr *)&addr, &alen) < 0) {
    perror("cfloor: listen");
    return 1;
  }
  printf("listening http://127.0.0.1:%d\n", ntohs(addr.sin_port));
  fflush(stdout);

  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) < 0) {
    perror("cfloor: epoll");
    return 1;
  }
  struct epoll_event ready[256];
  for (;;) {
    int n = epoll_wait(ep, ready, 256, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      perror("cfloor: epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      conn *c = ready[i].data.ptr;
      if (c == NULL) {
        int fd;
        while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          c = calloc(1, sizeof *c);
          c->fd = fd;
          c->cap = 64 << 10;
          c->buf = malloc(c->cap);
          struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
          if (!c->buf || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0) drop(c);
        }
        continue;
      }
      if (serve(c) < 0) drop(c);
    }
  }
}
