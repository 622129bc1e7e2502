#include "http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

namespace {

constexpr std::size_t kMaxHeaderBytes = 16 * 1024;
constexpr std::size_t kMaxBodyBytes = 1024 * 1024;

const char* reasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    default: return "Unknown";
  }
}

void wake(int eventFd) {
  std::uint64_t one = 1;
  ssize_t n = ::write(eventFd, &one, sizeof one);
  (void)n;  // an eventfd write only fails when the counter would overflow: it is already signalled
}

void drain(int eventFd) {
  std::uint64_t value;
  ssize_t n = ::read(eventFd, &value, sizeof value);
  (void)n;
}

bool headerEquals(const char* begin, std::size_t length, const char* name) {
  return std::strlen(name) == length && strncasecmp(begin, name, length) == 0;
}

bool containsToken(const std::string& value, const char* token) {
  return strcasestr(value.c_str(), token) != nullptr;
}

struct Connection {
  std::string in;
  std::string out;
  std::size_t outOffset = 0;
  bool closeAfterWrite = false;
  bool sentContinue = false;
  bool wantWrite = false;
};

}  // namespace

struct HttpServer::Worker {
  HttpServer& server;
  int epollFd = -1;
  int wakeFd = -1;
  std::mutex incomingMutex;
  std::vector<int> incoming;
  std::unordered_map<int, Connection> connections;
  std::thread thread;

  explicit Worker(HttpServer& s) : server(s) {
    epollFd = epoll_create1(EPOLL_CLOEXEC);
    wakeFd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epollFd < 0 || wakeFd < 0) throw std::runtime_error(std::string("epoll/eventfd: ") + std::strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wakeFd;
    epoll_ctl(epollFd, EPOLL_CTL_ADD, wakeFd, &ev);
  }

  ~Worker() {
    for (auto& entry : connections) ::close(entry.first);
    if (epollFd >= 0) ::close(epollFd);
    if (wakeFd >= 0) ::close(wakeFd);
  }

  void hand(int fd) {
    {
      std::lock_guard<std::mutex> lock(incomingMutex);
      incoming.push_back(fd);
    }
    wake(wakeFd);
  }

  void run() {
    epoll_event events[64];
    while (!server.stopping_.load(std::memory_order_relaxed)) {
      int n = epoll_wait(epollFd, events, 64, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == wakeFd) {
          drain(wakeFd);
          adoptIncoming();
          continue;
        }
        auto found = connections.find(fd);
        if (found == connections.end()) continue;
        bool keep = true;
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) keep = onReadable(fd, found->second);
        if (keep && (events[i].events & EPOLLOUT)) keep = flush(fd, found->second);
        if (!keep) closeConnection(fd);
      }
    }
  }

  void adoptIncoming() {
    std::vector<int> fds;
    {
      std::lock_guard<std::mutex> lock(incomingMutex);
      fds.swap(incoming);
    }
    for (int fd : fds) {
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.fd = fd;
      if (epoll_ctl(epollFd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        ::close(fd);
        continue;
      }
      connections.emplace(fd, Connection{});
    }
  }

  void closeConnection(int fd) {
    epoll_ctl(epollFd, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    connections.erase(fd);
  }

  // Returns false when the connection is to be closed.
  bool onReadable(int fd, Connection& c) {
    char buffer[16 * 1024];
    bool peerClosed = false;
    for (;;) {
      ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        c.in.append(buffer, static_cast<std::size_t>(n));
        if (static_cast<std::size_t>(n) < sizeof buffer) break;
        continue;
      }
      if (n == 0) {
        peerClosed = true;
        break;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return false;
    }
    processRequests(c);
    if (!flush(fd, c)) return false;
    // A half-closed peer still gets the answers to what it sent; then we are done.
    return !(peerClosed && c.out.size() == c.outOffset);
  }

  void respond(Connection& c, const HttpResponse& r, bool keepAlive, bool http10) {
    std::string head = "HTTP/1.1 " + std::to_string(r.status) + " " + reasonPhrase(r.status) + "\r\n";
    head += "Content-Type: " + r.contentType + "\r\n";
    head += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
    if (!keepAlive) head += "Connection: close\r\n";
    else if (http10) head += "Connection: keep-alive\r\n";
    head += "\r\n";
    c.out += head;
    c.out += r.body;
    if (!keepAlive) c.closeAfterWrite = true;
  }

  void reject(Connection& c, int status, const char* message) {
    HttpResponse r;
    r.status = status;
    r.body = std::string("{\"error\":\"") + message + "\"}";
    respond(c, r, false, false);
    c.in.clear();
  }

  void processRequests(Connection& c) {
    std::size_t consumed = 0;
    while (!c.closeAfterWrite) {
      std::size_t headerEnd = c.in.find("\r\n\r\n", consumed);
      if (headerEnd == std::string::npos) {
        if (c.in.size() - consumed > kMaxHeaderBytes) return reject(c, 431, "request headers too large");
        break;
      }
      const char* p = c.in.data() + consumed;
      const char* end = c.in.data() + headerEnd;
      const char* lineEnd = static_cast<const char*>(std::memchr(p, '\r', static_cast<std::size_t>(end - p + 1)));
      std::string requestLine(p, static_cast<std::size_t>(lineEnd - p));
      std::size_t sp1 = requestLine.find(' ');
      std::size_t sp2 = requestLine.rfind(' ');
      if (sp1 == std::string::npos || sp2 == sp1 || requestLine.compare(sp2 + 1, 5, "HTTP/") != 0) {
        return reject(c, 400, "malformed request line");
      }
      HttpRequest request;
      request.method = requestLine.substr(0, sp1);
      request.path = requestLine.substr(sp1 + 1, sp2 - sp1 - 1);
      request.path = request.path.substr(0, request.path.find('?'));
      const bool http10 = requestLine.compare(sp2 + 1, std::string::npos, "HTTP/1.0") == 0;

      std::size_t contentLength = 0;
      bool keepAlive = !http10;
      bool expectContinue = false;
      for (const char* line = lineEnd + 2; line < end;) {
        const char* next = static_cast<const char*>(std::memchr(line, '\r', static_cast<std::size_t>(end - line)));
        if (!next) next = end;
        const char* colon = static_cast<const char*>(std::memchr(line, ':', static_cast<std::size_t>(next - line)));
        if (colon) {
          const char* v = colon + 1;
          while (v < next && (*v == ' ' || *v == '\t')) ++v;
          std::string value(v, static_cast<std::size_t>(next - v));
          std::size_t nameLength = static_cast<std::size_t>(colon - line);
          if (headerEquals(line, nameLength, "Content-Length")) {
            char* parsedEnd = nullptr;
            unsigned long long length = std::strtoull(value.c_str(), &parsedEnd, 10);
            if (parsedEnd == value.c_str()) return reject(c, 400, "bad Content-Length");
            if (length > kMaxBodyBytes) return reject(c, 413, "body larger than 1 MiB");
            contentLength = static_cast<std::size_t>(length);
          } else if (headerEquals(line, nameLength, "Transfer-Encoding")) {
            return reject(c, 411, "chunked bodies are not supported; send Content-Length");
          } else if (headerEquals(line, nameLength, "Connection")) {
            if (containsToken(value, "close")) keepAlive = false;
            else if (containsToken(value, "keep-alive")) keepAlive = true;
          } else if (headerEquals(line, nameLength, "Expect")) {
            expectContinue = containsToken(value, "100-continue");
          }
        }
        line = next + 2;
      }

      std::size_t bodyStart = headerEnd + 4;
      if (c.in.size() - bodyStart < contentLength) {
        if (expectContinue && !c.sentContinue) {
          c.out += "HTTP/1.1 100 Continue\r\n\r\n";
          c.sentContinue = true;
        }
        break;
      }
      request.body.assign(c.in, bodyStart, contentLength);
      consumed = bodyStart + contentLength;
      c.sentContinue = false;

      HttpResponse response;
      try {
        response = server.handler_(request);
      } catch (const std::exception& e) {
        response.status = 500;
        response.body = std::string("{\"error\":\"internal error\"}");
      }
      respond(c, response, keepAlive, http10);
    }
    if (consumed > 0 && !c.in.empty()) c.in.erase(0, consumed);
  }

  // Writes what is pending; arms EPOLLOUT while the socket is full. Returns false to close.
  bool flush(int fd, Connection& c) {
    while (c.outOffset < c.out.size()) {
      ssize_t n = ::send(fd, c.out.data() + c.outOffset, c.out.size() - c.outOffset, MSG_NOSIGNAL);
      if (n > 0) {
        c.outOffset += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return false;
    }
    const bool pending = c.outOffset < c.out.size();
    if (!pending) {
      c.out.clear();
      c.outOffset = 0;
      if (c.closeAfterWrite) return false;
    }
    if (pending != c.wantWrite) {
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP | (pending ? EPOLLOUT : 0u);
      ev.data.fd = fd;
      epoll_ctl(epollFd, EPOLL_CTL_MOD, fd, &ev);
      c.wantWrite = pending;
    }
    return true;
  }
};

HttpServer::HttpServer(int workerThreads, HttpHandler handler)
    : workerCount_(workerThreads < 1 ? 1 : workerThreads), handler_(std::move(handler)) {}

HttpServer::~HttpServer() {
  stop();
  if (listenFd_ >= 0) ::close(listenFd_);
  if (stopFd_ >= 0) ::close(stopFd_);
}

int HttpServer::listen(int port) {
  listenFd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listenFd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("cannot bind 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno) +
                             " (use --port 0 to pick a free port)");
  }
  if (::listen(listenFd_, 1024) != 0) throw std::runtime_error(std::string("listen: ") + std::strerror(errno));
  socklen_t length = sizeof addr;
  getsockname(listenFd_, reinterpret_cast<sockaddr*>(&addr), &length);
  return ntohs(addr.sin_port);
}

void HttpServer::start() {
  stopFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (stopFd_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  for (int i = 0; i < workerCount_; ++i) workers_.push_back(std::make_unique<Worker>(*this));
  for (auto& w : workers_) {
    Worker* worker = w.get();
    w->thread = std::thread([worker] { worker->run(); });
  }
  acceptor_ = std::thread([this] { acceptLoop(); });
}

void HttpServer::acceptLoop() {
  std::size_t next = 0;
  pollfd fds[2] = {{listenFd_, POLLIN, 0}, {stopFd_, POLLIN, 0}};
  while (!stopping_.load()) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents) break;
    for (;;) {
      int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) break;  // EAGAIN, or a transient error (EMFILE...): poll again
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      workers_[next]->hand(fd);
      next = (next + 1) % workers_.size();
    }
  }
}

void HttpServer::stop() {
  if (stopping_.exchange(true)) return;
  if (stopFd_ >= 0) wake(stopFd_);
  if (acceptor_.joinable()) acceptor_.join();
  for (auto& w : workers_) wake(w->wakeFd);
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
  workers_.clear();
}
