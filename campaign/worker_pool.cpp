#include "campaign/worker_pool.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <iostream>

#include "models/error.h"

namespace isimdl {

WorkerPool::WorkerPool() : parent_(::getpid()) {}

WorkerPool::~WorkerPool() { stop_all(); }

void WorkerPool::launch(int worker, const std::function<void()>& work) {
  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = fork();
  if (pid < 0) throw Error("fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent_) _exit(4);
    int code = 0;
    try {
      work();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "isimdl: worker %d: %s\n", worker, e.what());
      code = 3;
    }
    std::fflush(nullptr);
    _exit(code);
  }
  running_[pid] = worker;
}

std::optional<WorkerPool::Exit> WorkerPool::wait(const std::function<void()>& idle) {
  while (!running_.empty()) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid == 0) {
      if (idle) idle();
      usleep(100000);
      continue;
    }
    if (pid < 0) {
      if (errno == EINTR) continue;
      running_.clear();  // no children left
      return std::nullopt;
    }
    const auto it = running_.find(pid);
    if (it == running_.end()) continue;  // not one of ours
    const Exit exit{it->second, status};
    running_.erase(it);
    return exit;
  }
  return std::nullopt;
}

std::optional<WorkerPool::Exit> WorkerPool::wait_blocking() {
  if (running_.empty()) return std::nullopt;
  const auto it = running_.begin();
  int status = 0;
  pid_t pid = 0;
  while ((pid = waitpid(it->first, &status, 0)) < 0 && errno == EINTR) {
  }
  const Exit exit{it->second, status};
  running_.erase(it);
  if (pid < 0) return std::nullopt;  // not a child any more
  return exit;
}

void WorkerPool::stop_all() {
  for (const auto& [pid, worker] : running_) ::kill(pid, SIGKILL);
  for (const auto& [pid, worker] : running_) ::waitpid(pid, nullptr, 0);
  running_.clear();
}

}  // namespace isimdl
