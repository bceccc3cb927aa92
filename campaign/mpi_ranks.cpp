#include "campaign/mpi_ranks.h"

#include <mpi.h>

#include <chrono>
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

}  // namespace isimdl
