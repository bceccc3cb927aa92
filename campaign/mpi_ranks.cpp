#include "campaign/mpi_ranks.h"

#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <cstdlib>
#include <string>
#include <thread>

#include "models/error.h"

namespace isimdl {
namespace {

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : 0;
}

void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) throw Error(std::string("MPI: ") + what + " failed");
}

// Waits for a message matching (source, tag) with MPI_Iprobe and sleeps of
// 200 us: MPI_Recv would poll at full speed on a core the workers need.
MPI_Status wait_for(int source, int tag) {
  MPI_Status status;
  for (int flag = 0;;) {
    check(MPI_Iprobe(source, tag, MPI_COMM_WORLD, &flag, &status), "MPI_Iprobe");
    if (flag) return status;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

void receive_matched(const MPI_Status& status, std::string& bytes) {
  int count = 0;
  check(MPI_Get_count(&status, MPI_BYTE, &count), "MPI_Get_count");
  bytes.resize(static_cast<std::size_t>(count));
  check(MPI_Recv(count ? bytes.data() : nullptr, count, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE),
        "MPI_Recv");
}

}  // namespace

bool MpiRanks::launched() {
  return env_int("OMPI_COMM_WORLD_SIZE") > 1 || env_int("PMIX_SIZE") > 1 || env_int("PMI_SIZE") > 1;
}

MpiRanks::MpiRanks() {
  check(MPI_Init(nullptr, nullptr), "MPI_Init");
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiRanks::~MpiRanks() { MPI_Finalize(); }

void MpiRanks::abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // not reached
}

void MpiRanks::send(int to, int tag, const std::string& bytes) {
  check(MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, to, tag, MPI_COMM_WORLD), "MPI_Send");
}

int MpiRanks::receive_any(int tag, std::string& bytes) {
  const MPI_Status status = wait_for(MPI_ANY_SOURCE, tag);
  receive_matched(status, bytes);
  return status.MPI_SOURCE;
}

void MpiRanks::receive(int from, int tag, std::string& bytes) { receive_matched(wait_for(from, tag), bytes); }

namespace {
// The farm's tags (apart from the campaign's): a result (8 bytes of task
// index, then the result; empty: ready) to rank 0; a task (8 bytes of index;
// empty: stop) to a worker rank.
constexpr int kTagResult = 3, kTagTask = 4;
}  // namespace

std::vector<std::string> MpiRanks::farm(std::size_t count, const std::function<std::string(std::size_t)>& work) {
  if (rank_ > 0) {
    std::string message;  // ready
    for (;;) {
      send(0, kTagResult, message);
      std::string task;
      receive(0, kTagTask, task);
      if (task.empty()) return {};
      std::uint64_t index = 0;
      if (task.size() != sizeof index) throw Error("MPI: a task message of the wrong size");
      std::memcpy(&index, task.data(), sizeof index);
      message = task + work(static_cast<std::size_t>(index));
    }
  }
  std::vector<std::string> results(count);
  std::size_t next = 0, outstanding = 0;
  int stopped = 0;
  while (stopped < size_ - 1) {
    std::string message;
    const int from = receive_any(kTagResult, message);
    if (!message.empty()) {
      std::uint64_t index = 0;
      if (message.size() < sizeof index) throw Error("MPI: a result message of the wrong size");
      std::memcpy(&index, message.data(), sizeof index);
      if (index >= count) throw Error("MPI: a result for a task that does not exist");
      results[static_cast<std::size_t>(index)] = message.substr(sizeof index);
      --outstanding;
    }
    if (next < count) {
      const std::uint64_t index = next++;
      send(from, kTagTask, std::string(reinterpret_cast<const char*>(&index), sizeof index));
      ++outstanding;
    } else {
      send(from, kTagTask, std::string());
      ++stopped;
    }
  }
  if (outstanding != 0) throw Error("internal: MPI farm ended with tasks outstanding");
  return results;
}

}  // namespace isimdl
