#pragma once

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "hw/fault_site.h"
#include "campaign/fault_record.h"
#include "runner/fault_simulator.h"

struct sqlite3;

namespace isimdl {

// One (layer, register group) block of the campaign's fault space as the
// results file keeps it (table `space`): enough to know every structure's
// share of the space, and the largest importance weight a site of the block
// that can have a non-zero outcome has (1 for uniform sampling; 0 when not
// known, for a campaign over a given fault list).
struct SpaceBlockRecord {
  int layer = 0;
  RegisterGroup group = RegisterGroup::kPePsum;
  std::int64_t instances = 0;
  int positions = 0;
  std::int64_t cycles = 0;
  double max_weight = 0;
  double sites() const { return static_cast<double>(instances) * positions * static_cast<double>(cycles); }
};

// Identity of a campaign, stored once per results file.
struct CampaignInfo {
  std::string version;
  std::string config_yaml;     // resolved configuration
  std::string model_path;
  std::uint32_t model_crc = 0;
  std::string array_yaml;
  std::uint64_t seed = 0;
  std::int64_t planned_faults = 0;
  std::uint64_t population = 0;  // sites in the fault space
  // The fault space by block; empty in files written before isimdl kept it.
  std::vector<SpaceBlockRecord> blocks;
  // A shard (`isimdl campaign --shard I/N`) holds the faults whose index is
  // I modulo N; a whole campaign is shard 0 of 1 (table `shard`, absent then).
  int shard_index = 0, shard_count = 1;
  // The faults of this shard: those below planned_faults whose index is shard_index modulo shard_count.
  std::int64_t shard_faults() const {
    return planned_faults > shard_index ? (planned_faults - shard_index + shard_count - 1) / shard_count : 0;
  }
};

// How `stored` differs from `now` in what defines a campaign (configuration
// keys, fault list, model, fault space, planned faults, shard), phrased as
// "the stored campaign has another configuration: campaign.seed is 1 there,
// 2 here"; empty when both describe the same campaign.
std::string campaign_difference(const CampaignInfo& stored, const CampaignInfo& now, const std::string& where);

// The campaign's SQLite results file: a `campaign` table (one row) and a
// `faults` table with one row per fault. Each fault is written in its own
// transaction, so a campaign killed at any moment keeps every finished fault
// and no half-written one; the primary key (fault_index) makes a resumed run
// skip finished faults and never duplicate one.
class ResultsStore {
 public:
  // kReadOnly (results summary/export, report) opens an existing file without
  // writing to it and refuses one that is not an isimdl campaign; kReadWrite
  // creates the schema when missing.
  enum class Mode { kReadWrite, kReadOnly };
  explicit ResultsStore(const std::string& path, Mode mode = Mode::kReadWrite);
  ~ResultsStore();
  ResultsStore(const ResultsStore&) = delete;
  ResultsStore& operator=(const ResultsStore&) = delete;

  // Creates the campaign row, or checks that the stored one describes the
  // same campaign (throws Error naming the difference) when resuming.
  void begin(const CampaignInfo& info, bool resume);
  CampaignInfo info();
  // Records the fault space's blocks (a resumed campaign of a file written
  // before the space table adds them; existing blocks are kept).
  void write_space(const std::vector<SpaceBlockRecord>& blocks);
  // Faults with a row (measured or a simulator error), and those measured.
  std::set<std::int64_t> finished_faults();
  std::set<std::int64_t> measured_faults();
  // Finished faults and how many of them are critical.
  std::pair<std::int64_t, std::int64_t> counts();
  // Writes a fault's row; a row of the same fault that records a simulator
  // error is replaced (a rerun), a measured one never is (throws).
  void write(const FaultRecord& record);
  // Writes many rows in one transaction (results merge); same rules as write().
  void write_all(const std::vector<FaultRecord>& records);
  std::vector<FaultRecord> read_all();
  // Moves every committed row from the write-ahead log into the database
  // file and empties the log: after it, the .sqlite file alone holds the
  // campaign (a campaign does this when it ends).
  void checkpoint();

  const std::string& path() const { return path_; }

 private:
  void exec(const std::string& sql);
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace isimdl
