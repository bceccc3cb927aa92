#include "campaign/results_merge.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <ostream>

#include "campaign/results_store.h"
#include "models/error.h"

namespace isimdl {
namespace {

// "5, 9, 13, ... (12 in all)": the first few of a list of fault indices.
std::string some_indices(const std::vector<std::int64_t>& indices) {
  std::string text;
  for (std::size_t i = 0; i < indices.size() && i < 8; ++i) text += fmt::format("{}{}", i ? ", " : "", indices[i]);
  if (indices.size() > 8) text += fmt::format(", ... ({} in all)", indices.size());
  return text;
}

}  // namespace

MergeSummary merge_results(const std::vector<std::string>& inputs, const std::string& out_path, std::ostream& out) {
  if (inputs.empty()) throw UsageError("results merge: no results files to merge");
  if (std::filesystem::exists(out_path))
    throw Error(fmt::format("{}: already exists; results merge writes a new file and never overwrites one", out_path));
  struct Shard {
    std::string path;
    CampaignInfo info;
    std::vector<FaultRecord> records;
  };
  std::vector<Shard> shards;
  for (const std::string& path : inputs) {
    ResultsStore store(path, ResultsStore::Mode::kReadOnly);
    shards.push_back({path, store.info(), store.read_all()});
  }
  const Shard& first = shards.front();
  const int n = first.info.shard_count;
  std::map<int, std::string> by_index;
  for (const Shard& s : shards) {
    if (&s != &first) {
      // Compared as shards of one campaign: the shard itself may differ (its
      // N is checked below).
      CampaignInfo same = s.info;
      same.shard_index = first.info.shard_index;
      same.shard_count = first.info.shard_count;
      const std::string difference = campaign_difference(first.info, same, s.path);
      if (!difference.empty())
        throw Error(fmt::format("{} and {} are not shards of one campaign: {} (\"there\" is {})", first.path, s.path,
                                difference, first.path));
    }
    if (s.info.shard_count != n)
      throw Error(fmt::format("{} is shard {}/{} but {} is shard {}/{}: shards of one campaign share their N", first.path,
                              first.info.shard_index, n, s.path, s.info.shard_index, s.info.shard_count));
    const auto [it, fresh] = by_index.emplace(s.info.shard_index, s.path);
    if (!fresh)
      throw Error(fmt::format("{} and {} are both shard {}/{}", it->second, s.path, s.info.shard_index, n));
  }
  const std::int64_t planned = first.info.planned_faults;
  std::vector<int> absent;
  std::vector<std::int64_t> absent_faults;
  for (int i = 0; i < n; ++i)
    if (!by_index.count(i)) {
      absent.push_back(i);
      for (std::int64_t f = i; f < planned; f += n) absent_faults.push_back(f);
    }
  if (!absent.empty()) {
    std::string list;
    for (std::size_t i = 0; i < absent.size(); ++i) list += fmt::format("{}{}", i ? ", " : "", absent[i]);
    std::sort(absent_faults.begin(), absent_faults.end());
    throw Error(fmt::format("results merge: shard{} {} of {} missing: faults {} have no results file", absent.size() > 1 ? "s" : "",
                            list, n, some_indices(absent_faults)));
  }
  MergeSummary summary;
  summary.files = static_cast<int>(shards.size());
  summary.shard_count = n;
  std::vector<FaultRecord> all;
  for (const Shard& s : shards) {
    const int i = s.info.shard_index;
    std::vector<bool> seen(static_cast<std::size_t>(planned), false);
    for (const FaultRecord& r : s.records) {
      if (r.fault_index < 0 || r.fault_index >= planned || r.fault_index % n != i)
        throw Error(fmt::format("{} (shard {}/{}) holds fault {}, which is not in its slice (the faults below {} whose "
                                "index is {} modulo {})",
                                s.path, i, n, r.fault_index, planned, i, n));
      seen[static_cast<std::size_t>(r.fault_index)] = true;
      summary.sim_errors += !r.measured();
    }
    std::vector<std::int64_t> missing;
    for (std::int64_t f = i; f < planned; f += n)
      if (!seen[static_cast<std::size_t>(f)]) missing.push_back(f);
    if (!missing.empty())
      throw Error(fmt::format("{} (shard {}/{}): {} of its {} faults have no row ({}); finish it with isimdl campaign "
                              "... --shard {}/{} --resume",
                              s.path, i, n, missing.size(), s.info.shard_faults(), some_indices(missing), i, n));
    all.insert(all.end(), s.records.begin(), s.records.end());
  }
  std::sort(all.begin(), all.end(), [](const FaultRecord& a, const FaultRecord& b) { return a.fault_index < b.fault_index; });
  CampaignInfo merged = first.info;
  merged.shard_index = 0;
  merged.shard_count = 1;
  try {
    ResultsStore store(out_path);
    store.begin(merged, false);
    store.write_all(all);
    store.checkpoint();
  } catch (...) {
    // No half-written merge is left behind (the inputs are only read).
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(out_path + suffix);
    throw;
  }
  summary.faults = static_cast<std::int64_t>(all.size());
  out << fmt::format("merged {} shards of {} ({} faults, {} simulator errors) into {}\n", summary.files, n, summary.faults,
                     summary.sim_errors, out_path);
  return summary;
}

}  // namespace isimdl
