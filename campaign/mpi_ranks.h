#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace isimdl {

// The MPI job a campaign runs in (`mpirun -n N isimdl campaign ...`; Open MPI
// from Debian). Rank 0 is the coordinator and the one writer of the results
// file; ranks 1 .. N-1 evaluate the batches of faults it hands out
// (docs/campaigns.md). Only the messages of that protocol go through here,
// so that MPI's headers stay in one source file.
class MpiRanks {
 public:
  // Whether this process was started by an MPI launcher as one of several
  // ranks (Open MPI's or PMIx's environment); without one, isimdl never
  // calls MPI at all.
  static bool launched();

  MpiRanks();   // MPI_Init
  ~MpiRanks();  // MPI_Finalize
  MpiRanks(const MpiRanks&) = delete;
  MpiRanks& operator=(const MpiRanks&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // Ends every rank of the job (after an error on one of them).
  [[noreturn]] void abort(int code);

  // A message of bytes. Receiving waits by polling with short sleeps, so that
  // an idle rank (the writer most of the time) does not spin a core.
  void send(int to, int tag, const std::string& bytes);
  // From any rank; returns the sender.
  int receive_any(int tag, std::string& bytes);
  void receive(int from, int tag, std::string& bytes);

  // A task farm (isimdl sweep's configurations, isimdl compare's samplers x
  // seeds): every rank calls it with the same `count`. Rank 0 hands out the
  // tasks 0 .. count-1 one at a time to whichever rank asks and returns
  // their results in task order; ranks 1 .. N-1 run `work` on each task they
  // get and return nothing. What a task computes must depend on its index
  // alone, so that the results equal a loop over the tasks in one process.
  std::vector<std::string> farm(std::size_t count, const std::function<std::string(std::size_t)>& work);

 private:
  int rank_ = 0, size_ = 1;
};

}  // namespace isimdl
