#include "campaign/results_store.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <cstdlib>
#include <map>
#include <sqlite3.h>

#include "models/error.h"

namespace isimdl {
namespace {

// A prepared statement that finalizes itself.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql, const std::string& path) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK)
      throw Error(fmt::format("{}: SQL error: {}", path, sqlite3_errmsg(db)));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  void bind(int i, std::int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void bind(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  void bind(int i, const std::string& v) { sqlite3_bind_text(stmt_, i, v.c_str(), -1, SQLITE_TRANSIENT); }
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw Error(fmt::format("SQLite: {}", sqlite3_errmsg(db_)));
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? reinterpret_cast<const char*>(p) : "";
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// The faults table: one column per entry of fault_columns().
std::string faults_schema() {
  std::string columns;
  for (const FaultColumn& c : fault_columns()) columns += (columns.empty() ? "\n  " : ",\n  ") + c.sql;
  return "CREATE TABLE IF NOT EXISTS faults (" + columns + ");";
}

const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS campaign (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version TEXT NOT NULL, config TEXT NOT NULL, model_path TEXT NOT NULL, model_crc INTEGER NOT NULL,
  array TEXT NOT NULL, seed INTEGER NOT NULL, planned_faults INTEGER NOT NULL, population INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS space (
  layer INTEGER NOT NULL, grp TEXT NOT NULL, instances INTEGER NOT NULL, positions INTEGER NOT NULL,
  cycles INTEGER NOT NULL, max_weight REAL NOT NULL, PRIMARY KEY (layer, grp));
CREATE TABLE IF NOT EXISTS shard (
  id INTEGER PRIMARY KEY CHECK (id = 1), shard_index INTEGER NOT NULL, shard_count INTEGER NOT NULL);
)SQL";

}  // namespace

ResultsStore::ResultsStore(const std::string& path, Mode mode) : path_(path) {
  const int flags = mode == Mode::kReadOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  if (mode == Mode::kReadOnly && !std::filesystem::is_regular_file(path)) throw Error(fmt::format("{}: no such results file", path));
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw Error(fmt::format("{}: cannot open results database: {}", path, why));
  }
  sqlite3_busy_timeout(db_, 10000);
  if (mode == Mode::kReadOnly) {
    try {
      bool campaign = false, faults = false;
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db_, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &st, nullptr) != SQLITE_OK)
        throw Error(fmt::format("{}: not an SQLite database, or a corrupt one: {}", path, sqlite3_errmsg(db_)));
      int rc = SQLITE_ROW;
      while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const std::string name = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
        campaign |= name == "campaign";
        faults |= name == "faults";
      }
      sqlite3_finalize(st);
      if (rc != SQLITE_DONE) throw Error(fmt::format("{}: not an SQLite database, or a corrupt one: {}", path, sqlite3_errmsg(db_)));
      if (!campaign || !faults) throw Error(fmt::format("{}: not an isimdl campaign results file (no campaign and faults tables)", path));
    } catch (...) {
      sqlite3_close(db_);
      throw;
    }
    return;
  }
  try {
    // WAL lets worker processes write concurrently; FULL sync makes every
    // committed fault durable before the next starts.
    exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
    exec(kSchema);
    exec(faults_schema());
  } catch (...) {
    // The destructor does not run for a constructor that throws.
    sqlite3_close(db_);
    throw;
  }
}

ResultsStore::~ResultsStore() { sqlite3_close(db_); }

void ResultsStore::exec(const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string why = message ? message : "unknown error";
    sqlite3_free(message);
    throw Error(fmt::format("{}: SQLite: {}", path_, why));
  }
}

namespace {

// Keys of a resolved configuration that do not change what a campaign
// computes: where things are (the model's identity is its CRC) and how many
// processes do the work.
bool defines_campaign(const std::string& key) {
  static const char* const kNotDefining[] = {"output.dir", "campaign.jobs", "dataset.dir", "dataset.inputs",
                                             "dataset.labels", "model"};
  for (const char* k : kNotDefining)
    if (key == k) return false;
  return true;
}

void flatten(const YAML::Node& node, const std::string& prefix, std::map<std::string, std::string>& out) {
  if (node.IsMap()) {
    for (const auto& entry : node) flatten(entry.second, prefix.empty() ? entry.first.as<std::string>() : prefix + "." + entry.first.as<std::string>(), out);
    return;
  }
  YAML::Emitter e;
  e << YAML::Flow << node;
  std::string text = e.c_str();
  if (node.IsScalar()) {
    // A number in its shortest form (the stored YAML spells 0.05 as
    // 0.050000000000000003).
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (!text.empty() && end == text.c_str() + text.size()) text = fmt::format("{}", v);
  }
  out[prefix] = text;
}

std::map<std::string, std::string> defining_keys(const std::string& yaml, const std::string& where) {
  std::map<std::string, std::string> keys;
  try {
    flatten(YAML::Load(yaml), "", keys);
  } catch (const YAML::Exception& e) {
    throw Error(fmt::format("{}: the stored configuration is not readable YAML: {}", where, e.what()));
  }
  for (auto it = keys.begin(); it != keys.end();) it = defines_campaign(it->first) ? std::next(it) : keys.erase(it);
  return keys;
}

}  // namespace

std::string campaign_difference(const CampaignInfo& stored, const CampaignInfo& info, const std::string& where) {
  // Compare what defines the campaign, key by key (not paths, not jobs: a
  // moved results directory or another --jobs resumes).
  const auto was = defining_keys(stored.config_yaml, where), now = defining_keys(info.config_yaml, where);
  for (const auto& [key, value] : now) {
    const auto it = was.find(key);
    if (it == was.end() || it->second != value)
      return fmt::format("the stored campaign has another configuration: {} is {} there, {} here", key,
                         it == was.end() ? "absent" : it->second, value);
  }
  // The fault list's content (a comment line of the stored configuration).
  auto list_crc = [](const std::string& yaml) {
    const auto at = yaml.find("# fault list crc: ");
    return at == std::string::npos ? std::string("none") : yaml.substr(at + 18, yaml.find('\n', at) - at - 18);
  };
  if (list_crc(stored.config_yaml) != list_crc(info.config_yaml))
    return fmt::format("the stored campaign has another fault list (CRC-32 {} there, {} here)", list_crc(stored.config_yaml),
                       list_crc(info.config_yaml));
  for (const auto& [key, value] : was)
    if (!now.count(key))
      return fmt::format("the stored campaign has another configuration: {} is {} there, absent here", key, value);
  if (stored.model_crc != info.model_crc)
    return fmt::format("the model file {} changed since the campaign started (CRC-32 {:08x} there, {:08x} here)",
                       info.model_path, stored.model_crc, info.model_crc);
  if (stored.population != info.population)
    return fmt::format("the fault space has {} sites now and had {} when the campaign started (the model, the array "
                       "or isimdl's register map changed): its faults would not be the same",
                       info.population, stored.population);
  if (stored.planned_faults != info.planned_faults)
    return fmt::format("the stored campaign planned {} faults, this one {}", stored.planned_faults, info.planned_faults);
  if (stored.shard_index != info.shard_index || stored.shard_count != info.shard_count)
    return fmt::format("the stored campaign is shard {}/{}, this one {}/{}", stored.shard_index, stored.shard_count,
                       info.shard_index, info.shard_count);
  return {};
}

void ResultsStore::begin(const CampaignInfo& info, bool resume) {
  Statement count(db_, "SELECT COUNT(*) FROM campaign", path_);
  count.step();
  const bool exists = count.integer(0) > 0;
  if (exists && !resume)
    throw Error(fmt::format("{}: already holds a campaign; use --resume to continue it or choose another output", path_));
  if (!exists) {
    Statement insert(db_, "INSERT INTO campaign VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)", path_);
    insert.bind(1, info.version);
    insert.bind(2, info.config_yaml);
    insert.bind(3, info.model_path);
    insert.bind(4, static_cast<std::int64_t>(info.model_crc));
    insert.bind(5, info.array_yaml);
    insert.bind(6, static_cast<std::int64_t>(info.seed));
    insert.bind(7, info.planned_faults);
    insert.bind(8, static_cast<std::int64_t>(info.population));
    insert.step();
    if (info.shard_count > 1) {
      Statement shard(db_, "INSERT INTO shard VALUES (1, ?, ?)", path_);
      shard.bind(1, static_cast<std::int64_t>(info.shard_index));
      shard.bind(2, static_cast<std::int64_t>(info.shard_count));
      shard.step();
    }
    write_space(info.blocks);
    return;
  }
  const CampaignInfo stored = this->info();
  const std::string difference = campaign_difference(stored, info, path_);
  if (!difference.empty()) throw Error(fmt::format("{}: --resume: {}", path_, difference));
  write_space(info.blocks);
}

void ResultsStore::write_space(const std::vector<SpaceBlockRecord>& blocks) {
  exec("BEGIN IMMEDIATE");
  try {
    for (const SpaceBlockRecord& b : blocks) {
      Statement insert(db_, "INSERT OR IGNORE INTO space VALUES (?, ?, ?, ?, ?, ?)", path_);
      insert.bind(1, static_cast<std::int64_t>(b.layer));
      insert.bind(2, std::string(register_info(b.group).group_name));
      insert.bind(3, b.instances);
      insert.bind(4, static_cast<std::int64_t>(b.positions));
      insert.bind(5, b.cycles);
      insert.bind(6, b.max_weight);
      insert.step();
    }
    exec("COMMIT");
  } catch (...) {
    exec("ROLLBACK");
    throw;
  }
}

CampaignInfo ResultsStore::info() {
  Statement s(db_, "SELECT version, config, model_path, model_crc, array, seed, planned_faults, population FROM campaign", path_);
  if (!s.step()) throw Error(fmt::format("{}: no campaign in this results file", path_));
  CampaignInfo i;
  i.version = s.text(0);
  i.config_yaml = s.text(1);
  i.model_path = s.text(2);
  i.model_crc = static_cast<std::uint32_t>(s.integer(3));
  i.array_yaml = s.text(4);
  i.seed = static_cast<std::uint64_t>(s.integer(5));
  i.planned_faults = s.integer(6);
  i.population = static_cast<std::uint64_t>(s.integer(7));
  // Files written before the space and shard tables have none.
  auto has_table = [&](const char* name) {
    Statement has(db_, fmt::format("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{}'", name), path_);
    has.step();
    return has.integer(0) > 0;
  };
  if (has_table("shard")) {
    Statement s(db_, "SELECT shard_index, shard_count FROM shard", path_);
    if (s.step()) {
      i.shard_index = static_cast<int>(s.integer(0));
      i.shard_count = static_cast<int>(s.integer(1));
      if (i.shard_count < 1 || i.shard_index < 0 || i.shard_index >= i.shard_count)
        throw Error(fmt::format("{}: shard table: shard {}/{} is not a shard", path_, i.shard_index, i.shard_count));
    }
  }
  if (has_table("space")) {
    Statement b(db_, "SELECT layer, grp, instances, positions, cycles, max_weight FROM space ORDER BY rowid", path_);
    while (b.step()) {
      SpaceBlockRecord r;
      r.layer = static_cast<int>(b.integer(0));
      try {
        r.group = register_group_from_name(b.text(1));
      } catch (const Error& e) {
        throw Error(fmt::format("{}: space table: {}", path_, e.what()));
      }
      r.instances = b.integer(2);
      r.positions = static_cast<int>(b.integer(3));
      r.cycles = b.integer(4);
      r.max_weight = b.real(5);
      i.blocks.push_back(r);
    }
  }
  return i;
}

std::set<std::int64_t> ResultsStore::finished_faults() {
  std::set<std::int64_t> done;
  Statement s(db_, "SELECT fault_index FROM faults", path_);
  while (s.step()) done.insert(s.integer(0));
  return done;
}

void ResultsStore::checkpoint() { exec("PRAGMA wal_checkpoint(TRUNCATE);"); }

std::set<std::int64_t> ResultsStore::measured_faults() {
  std::set<std::int64_t> done;
  Statement s(db_, "SELECT fault_index FROM faults WHERE sim_error = 0", path_);
  while (s.step()) done.insert(s.integer(0));
  return done;
}

std::pair<std::int64_t, std::int64_t> ResultsStore::counts() {
  Statement s(db_, "SELECT COUNT(*), COALESCE(SUM(critical), 0) FROM faults", path_);
  s.step();
  return {s.integer(0), s.integer(1)};
}

void ResultsStore::write_all(const std::vector<FaultRecord>& records) {
  exec("BEGIN IMMEDIATE");
  try {
    for (const FaultRecord& r : records) write(r);
    exec("COMMIT");
  } catch (...) {
    exec("ROLLBACK");
    throw;
  }
}

void ResultsStore::write(const FaultRecord& r) {
  {
    // A rerun replaces the fault's simulator-error row (one transaction with
    // the insert below would be nicer; the delete alone leaves the fault
    // without a row, which --resume runs again: nothing is lost either way).
    Statement d(db_, "DELETE FROM faults WHERE fault_index = ? AND sim_error > 0", path_);
    d.bind(1, r.fault_index);
    d.step();
  }
  const auto& columns = fault_columns();
  std::string placeholders;
  for (std::size_t c = 0; c < columns.size(); ++c) placeholders += c ? ",?" : "?";
  Statement s(db_, "INSERT INTO faults VALUES (" + placeholders + ")", path_);
  int i = 1;
  for (const FaultColumn& c : columns) {
    const FaultValue v = c.get(r);
    switch (c.type) {
      case FaultColumn::Type::kInteger: s.bind(i++, v.integer); break;
      case FaultColumn::Type::kReal: s.bind(i++, v.real); break;
      case FaultColumn::Type::kText: s.bind(i++, v.text); break;
    }
  }
  // One statement is one transaction in SQLite's autocommit mode.
  s.step();
}

std::vector<FaultRecord> ResultsStore::read_all() {
  std::vector<FaultRecord> out;
  Statement s(db_, "SELECT * FROM faults ORDER BY fault_index", path_);
  while (s.step()) {
    FaultRecord r;
    int i = 0;
    for (const FaultColumn& c : fault_columns()) {
      FaultValue v;
      switch (c.type) {
        case FaultColumn::Type::kInteger: v.integer = s.integer(i); break;
        case FaultColumn::Type::kReal: v.real = s.real(i); break;
        case FaultColumn::Type::kText: v.text = s.text(i); break;
      }
      c.set(r, v);
      ++i;
    }
    out.push_back(r);
  }
  return out;
}

}  // namespace isimdl
