// A minimal HTTP/1.1 server on POSIX sockets: one acceptor thread hands connections round-robin to N
// worker threads, each running its own epoll loop and calling the handler itself. The handler therefore
// runs on N distinct threads, which is what gives glibc a reason to create many arenas.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

struct HttpRequest {
  std::string method;
  std::string path;  // without the query string
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  HttpServer(int workerThreads, HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds 127.0.0.1:port (0 picks a free port) and listens; returns the bound port. Throws std::runtime_error.
  int listen(int port);
  /// Starts the acceptor and the workers.
  void start();
  /// Stops accepting, closes every connection and joins all threads. Idempotent.
  void stop();

 private:
  struct Worker;
  void acceptLoop();

  const int workerCount_;
  HttpHandler handler_;
  int listenFd_ = -1;
  int stopFd_ = -1;  // eventfd that wakes the acceptor
  std::atomic<bool> stopping_{false};
  std::vector<std::unique_ptr<Worker>> workers_;
  std::thread acceptor_;
};
