#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace isimdl {

// What results merge joined.
struct MergeSummary {
  int files = 0, shard_count = 1;
  std::int64_t faults = 0, sim_errors = 0;
};

// Joins the results files of the shards of one campaign (`isimdl campaign
// --shard I/N`, one file per shard) into `out_path`, a new file that holds
// the campaign as one process would have written it (shard 0/1). Refuses,
// naming the file and what is wrong, unless the inputs are slices of one
// campaign: the same configuration, model, fault space and planned faults;
// the same N; every shard index 0..N-1 exactly once; each file holding only
// faults of its slice, and every one of them (which are missing is said).
// Never overwrites: `out_path` must not exist.
MergeSummary merge_results(const std::vector<std::string>& inputs, const std::string& out_path, std::ostream& out);

}  // namespace isimdl
