#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>

namespace isimdl {

// Forked worker processes: the one pool campaigns (a crash or hang costs one
// fault, not the campaign) and sweeps (configurations on several cores) run
// their work in. SystemC is elaborated once, before the fork. A worker dies
// with the process that launched it (kill -9 included), never working for
// nobody.
class WorkerPool {
 public:
  WorkerPool();
  ~WorkerPool();  // kills and reaps the workers still running
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Forks worker number `worker` running `work`. It exits 0 when `work`
  // returns and 3 when it throws (after printing "isimdl: worker N: what" on
  // stderr). Throws Error when fork fails.
  void launch(int worker, const std::function<void()>& work);

  // How a worker ended: its number and waitpid status.
  struct Exit {
    int worker = 0;
    int status = 0;
  };
  // Waits for the next worker to end, calling `idle` about every 100 ms
  // meanwhile; nothing when no worker is running (or none is left to reap).
  std::optional<Exit> wait(const std::function<void()>& idle = {});
  // Waits, blocking in waitpid instead of polling, for this pool's worker
  // with the lowest pid (the one worker of a pool that runs one: when the
  // caller knows it is ending, its pipe having reached end of file). Waits
  // for that pid only, never reaping another pool's worker.
  std::optional<Exit> wait_blocking();
  // Kills and reaps every running worker.
  void stop_all();
  bool empty() const { return running_.empty(); }

 private:
  std::map<pid_t, int> running_;
  pid_t parent_;
};

}  // namespace isimdl
