#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/test_dir.h"
#include <fmt/format.h>
#include <sqlite3.h>

#include "sampler/estimators.h"
#include "hw/register_map.h"
#include "models/error.h"
#include "models/model_file.h"
#include "models/zoo.h"
#include "config/config.h"
#include "campaign/campaign.h"
#include "campaign/fault_list.h"
#include "sampler/fault_space.h"
#include "campaign/results_store.h"
#include "campaign/population_estimates.h"
#include "campaign/results_merge.h"

namespace isimdl {
namespace {

const std::string kSource = ISIMDL_SOURCE_DIR;

std::string temp_dir(const std::string& name) {
  const auto dir = isimdl::test_dir() / ("isimdl_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

// A small campaign (CI-sized): lenet5 on 8x8, 3 images.
std::vector<std::string> campaign_args(const std::string& dir) {
  return {std::string(ISIMDL_BINARY), "campaign", "--config", kSource + "/configs/campaigns/lenet5-uniform.yaml",
          "-p", "array.rows=8", "-p", "array.cols=8", "-p", "campaign.faults=40", "-p", "campaign.seed=5",
          "-p", "dataset.images=0:3", "-p", "dataset.dir=" + kSource + "/tests/data", "-p", "output.dir=" + dir,
          "-p", "campaign.jobs=1", "--quiet"};
}

pid_t spawn(std::vector<std::string> args, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);  // its own process group, so that its workers die with it
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string export_csv(const std::string& db) {
  ResultsStore store(db);
  std::ostringstream out;
  for (const auto& r : store.read_all())
    out << r.fault_index << ',' << r.site.layer << ',' << r.site.cycle << ',' << static_cast<int>(r.site.group) << ','
        << r.site.index << ',' << r.site.bit << ',' << r.injection.before << ',' << r.injection.after << ','
        << r.outcomes[0] << ',' << r.outcomes[1] << ',' << r.outcomes[2] << ',' << r.outcomes[3] << ',' << r.correct
        << ',' << r.accuracy << '\n';
  return out.str();
}

std::int64_t rows_in(const std::string& db) {
  if (!std::filesystem::exists(db)) return 0;
  try {
    ResultsStore store(db);
    return static_cast<std::int64_t>(store.finished_faults().size());
  } catch (const Error&) {
    return 0;
  }
}

// Starts `args` (with `start`: spawn or spawn_mpi) with its fault worker
// hanging at fault 20 and a fault timeout of 600 s, so that it cannot finish
// first however fast the machine; kills its process group with SIGKILL once
// `db` holds at least 5 rows (or after 120 s) and returns the rows it kept.
std::int64_t kill_hung_campaign(std::vector<std::string> args, const std::string& db, const std::string& log,
                                pid_t (*start)(const std::vector<std::string>&, const std::string&)) {
  args.insert(args.end(), {"--fault-timeout", "600"});
  setenv("ISIMDL_TEST_HANG_AT_FAULT", "20", 1);
  const pid_t pid = start(args, log);
  unsetenv("ISIMDL_TEST_HANG_AT_FAULT");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (rows_in(db) < 5 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  kill(-pid, SIGKILL);
  wait_for(pid);
  return rows_in(db);
}

pid_t spawn_plain(const std::vector<std::string>& args, const std::string& log) { return spawn(args, log); }

// Contract 5: a campaign killed with SIGKILL (parent and workers) and rerun
// with --resume ends with exactly the rows of an uninterrupted run.
// A fault's row has one field list (campaign/fault_record.h): every field of a
// record survives the SQLite round trip, and the exports name every column
// the list exports.
TEST(ResultsStore, EveryFaultFieldSurvivesTheRoundTrip) {
  const std::string dir = temp_dir("fault_fields");
  FaultRecord r;
  r.fault_index = 7;
  r.site.layer = 3;
  r.site.cycle = 1234;
  r.site.group = RegisterGroup::kSkew;
  r.site.index = 5;
  r.site.bit = 2;
  r.site.kind = FaultKind::kAdjacentBits;
  r.site.width = 3;
  r.site.duration = 1;
  r.injection = InjectionRecord{true, -17, 300};
  for (int o = 0; o < kOutcomeCount; ++o) r.outcomes[static_cast<std::size_t>(o)] = 10 + o;
  for (int d = 0; d + 1 < kDeathPointCount; ++d) r.died[static_cast<std::size_t>(d)] = 20 + d;
  r.sim_errors = 0;
  r.images = 64;
  r.correct = 60;
  r.golden_correct = 62;
  r.accuracy = 60.0 / 64;
  r.drop = 2.0 / 62;
  r.critical = true;
  r.weight = 0.125;
  r.error = "none";
  {
    ResultsStore store(dir + "/r.sqlite");
    store.write(r);
  }
  ResultsStore store(dir + "/r.sqlite", ResultsStore::Mode::kReadOnly);
  const auto rows = store.read_all();
  ASSERT_EQ(rows.size(), 1u);
  for (const FaultColumn& c : fault_columns()) EXPECT_EQ(c.csv_text(rows[0]), c.csv_text(r)) << c.name;
  EXPECT_EQ(rows[0].site, r.site);
  EXPECT_EQ(fault_csv_row(rows[0]), fault_csv_row(r));
  const std::string json = fault_json_object(r);
  EXPECT_NE(json.find("\"outcomes\": {\"masked\": 10, "), std::string::npos) << json;
  EXPECT_NE(json.find("\"died\": {\"array\": 20, "), std::string::npos) << json;
  EXPECT_NE(json.find("\"critical\": true, \"weight\": 0.125}"), std::string::npos) << json;
  EXPECT_EQ(fault_csv_header().rfind("fault_index,layer,cycle,group,index,bit,kind,", 0), 0u);
}

TEST(Campaign, KilledAndResumedEqualsUninterrupted) {
  const std::string straight = temp_dir("campaign_straight"), killed = temp_dir("campaign_killed");
  // SRAM buffer faults are simulated cycle by cycle (the other groups are
  // classified from the schedule in microseconds): slow enough to be killed
  // half-way.
  const auto campaign_args = [](const std::string& dir) {
    auto args = isimdl::campaign_args(dir);
    args.insert(args.end(), {"-p", "campaign.groups=[ifmap_buffer, weight_buffer, output_buffer, pe_psum]"});
    return args;
  };
  ASSERT_EQ(wait_for(spawn(campaign_args(straight), straight + "/log")), 0);
  const std::string expected = export_csv(straight + "/campaign.sqlite");
  ASSERT_EQ(std::count(expected.begin(), expected.end(), '\n'), 40);

  // The run to kill cannot finish first, however fast the machine: its one
  // worker hangs at fault 20, so it is killed with 5 to 20 of its 40 rows written.
  const std::int64_t before_resume =
      kill_hung_campaign(campaign_args(killed), killed + "/campaign.sqlite", killed + "/log", spawn_plain);
  EXPECT_GE(before_resume, 5);
  EXPECT_LE(before_resume, 20);

  // Without --resume the results file is refused, not overwritten.
  EXPECT_EQ(wait_for(spawn(campaign_args(killed), killed + "/log2")), 1);
  auto resume = campaign_args(killed);
  resume.push_back("--resume");
  ASSERT_EQ(wait_for(spawn(resume, killed + "/log3")), 0);
  EXPECT_EQ(export_csv(killed + "/campaign.sqlite"), expected);
}

// An exhaustive campaign's estimates are exact (the interval is the value),
// and every structure's rate is the plain mean over its sites; a sampled
// campaign's per-structure estimates recombine to the overall estimate
// (sum of share x rate over a breakdown's parts), and its results file
// records the fault space.
TEST(Campaign, PopulationEstimatesPerStructure) {
  const std::string dir = temp_dir("campaign_exhaustive");
  auto args = campaign_args(dir);
  args.insert(args.end(), {"-p", "campaign.faults=all", "-p", "campaign.groups=[pe_valid, pe_propagate]", "-p",
                           "campaign.layers=[11]", "-p", "array.rows=2", "-p", "array.cols=2"});
  ASSERT_EQ(wait_for(spawn(args, dir + "/log")), 0);
  ResultsStore store(dir + "/campaign.sqlite", ResultsStore::Mode::kReadOnly);
  const CampaignInfo info = store.info();
  const std::vector<FaultRecord> records = store.read_all();
  ASSERT_EQ(info.blocks.size(), 2u);
  ASSERT_EQ(records.size(), info.population);
  const PopulationEstimates p = population_estimates(info, records);
  ASSERT_TRUE(p.exact);
  for (int k = 0; k < kRateKinds; ++k) {
    EXPECT_TRUE(p.rate[k].exact);
    EXPECT_EQ(p.rate[k].lo, p.rate[k].value);
    EXPECT_EQ(p.rate[k].hi, p.rate[k].value);
  }
  // Per group and per PE: the mean over the structure's sites, computed here from the rows.
  std::map<std::string, std::pair<double, double>> by;  // structure -> (sum, count)
  for (const FaultRecord& r : records) {
    auto& g = by["group " + std::string(register_info(r.site.group).group_name)];
    g.first += rate_value(r, RateKind::kAnySdc);
    g.second += 1;
    auto& pe = by[fmt::format("pe {}_{}", r.site.index / 2, r.site.index % 2)];
    pe.first += rate_value(r, RateKind::kAnySdc);
    pe.second += 1;
  }
  int checked = 0;
  for (const StructureEstimate& s : p.structures) {
    if (s.breakdown != "group" && s.breakdown != "pe") continue;
    const auto& [sum, count] = by.at(s.breakdown + " " + s.structure);
    const int k = static_cast<int>(RateKind::kAnySdc);
    EXPECT_NEAR(s.rate[k].value, sum / count, 1e-12) << s.breakdown << " " << s.structure;
    EXPECT_NEAR(s.share, count / static_cast<double>(info.population), 1e-12);
    EXPECT_TRUE(s.rate[k].exact);
    ++checked;
  }
  EXPECT_EQ(checked, 2 + 4);
  std::ostringstream summary;
  print_summary(store, summary);
  EXPECT_NE(summary.str().find("exhaustive campaign: exact"), std::string::npos) << summary.str();

  // A sampled (importance) campaign: the breakdowns partition the space.
  const std::string sampled = temp_dir("campaign_sampled_structures");
  auto sargs = campaign_args(sampled);
  sargs.insert(sargs.end(), {"-p", "campaign.sampler=importance", "-p", "campaign.faults=60"});
  ASSERT_EQ(wait_for(spawn(sargs, sampled + "/log")), 0);
  ResultsStore sstore(sampled + "/campaign.sqlite", ResultsStore::Mode::kReadOnly);
  const PopulationEstimates q = population_estimates(sstore.info(), sstore.read_all());
  ASSERT_TRUE(q.have_space);
  EXPECT_FALSE(q.exact);
  for (const char* breakdown : {"group", "layer", "bit"})
    for (int k = 0; k < kRateKinds; ++k) {
      double share = 0, total = 0;
      for (const StructureEstimate& s : q.structures)
        if (s.breakdown == breakdown) {
          share += s.share;
          total += s.share * s.rate[k].value;
        }
      EXPECT_NEAR(share, 1.0, 1e-9) << breakdown;
      EXPECT_NEAR(total, q.rate[k].value, 1e-9 * std::max(1.0, q.rate[k].value)) << breakdown << " " << k;
    }
  for (const SpaceBlockRecord& b : sstore.info().blocks) EXPECT_GT(b.max_weight, 0.0);
}

// A stopping rule stops at a look of the fixed schedule (100, 200, ...),
// keeps the rows of the faults before it, prints its per-look confidence,
// and a --resume of the stopped campaign stops at the same look.
TEST(Campaign, StoppingRuleStopsAtALook) {
  const std::string dir = temp_dir("campaign_stopping");
  auto args = campaign_args(dir);
  args.insert(args.end(), {"-p", "campaign.sampler=importance", "-p", "campaign.faults=400", "--until-critical", "1"});
  ASSERT_EQ(wait_for(spawn(args, dir + "/log")), 0);
  std::ifstream log(dir + "/log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("stopped after 100 of the 400 budgeted faults"), std::string::npos) << text;
  // Looks 100, 200, 400: each interval at 1 - 0.05 / 3.
  EXPECT_NE(text.find("98.33% intervals at each of the stopping rule's 3 looks, 95% jointly"), std::string::npos) << text;
  EXPECT_EQ(rows_in(dir + "/campaign.sqlite"), 100);
  const std::string before = export_csv(dir + "/campaign.sqlite");
  args.push_back("--resume");
  ASSERT_EQ(wait_for(spawn(args, dir + "/log2")), 0);
  EXPECT_EQ(export_csv(dir + "/campaign.sqlite"), before);
}

// What `isimdl results export` writes (CSV and JSON rows) and the group
// breakdown of the population estimates, byte for byte.
std::string full_export(const std::string& db) {
  ResultsStore store(db, ResultsStore::Mode::kReadOnly);
  std::ostringstream out;
  export_results(store, "csv", out);
  export_results(store, "json", out);
  out << structure_csv(population_estimates(store.info(), store.read_all()), "group");
  return out.str();
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

// Slurm job arrays without MPI: the shards of a campaign, each in its own
// process and results file (one of them with two workers), merged, give the
// rows and estimates of one process; a merge of anything but the complete,
// disjoint slices of one campaign is refused with what is wrong.
TEST(Campaign, ShardsMergedEqualOneProcess) {
  const std::string dir = temp_dir("campaign_shards");
  auto args = [&](const std::string& out) {
    auto a = campaign_args(out);
    a.insert(a.end(), {"-p", "campaign.sampler=importance"});
    return a;
  };
  ASSERT_EQ(wait_for(spawn(args(dir + "/one"), dir + "/one.log")), 0);
  const std::string expected = full_export(dir + "/one/campaign.sqlite");
  ASSERT_EQ(rows_in(dir + "/one/campaign.sqlite"), 40);
  for (int i = 0; i < 3; ++i) {
    auto a = args(dir + "/shards");
    a.insert(a.end(), {"--shard", fmt::format("{}/3", i)});
    if (i == 1) a.insert(a.end(), {"--jobs", "2"});
    ASSERT_EQ(wait_for(spawn(a, fmt::format("{}/shard{}.log", dir, i))), 0) << i;
  }
  const auto shard = [&](int i) { return fmt::format("{}/shards/campaign.shard-{}-of-3.sqlite", dir, i); };
  EXPECT_EQ(rows_in(shard(0)), 14);
  EXPECT_EQ(rows_in(shard(1)), 13);
  // A shard resumes as itself only.
  {
    auto a = args(dir + "/shards");
    a.insert(a.end(), {"--shard", "1/3", "--db", shard(0), "--resume"});
    ASSERT_EQ(wait_for(spawn(a, dir + "/wrong-shard.log")), 1);
    std::ifstream log(dir + "/wrong-shard.log");
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("the stored campaign is shard 0/3, this one 1/3"), std::string::npos) << text;
  }
  // Through the command line, in any order of the files.
  ASSERT_EQ(wait_for(spawn({ISIMDL_BINARY, "results", "merge", shard(2), shard(0), shard(1), "--out", dir + "/all.sqlite"},
                           dir + "/merge.log")),
            0);
  EXPECT_EQ(full_export(dir + "/all.sqlite"), expected);
  {
    ResultsStore merged(dir + "/all.sqlite", ResultsStore::Mode::kReadOnly);
    EXPECT_EQ(merged.info().shard_count, 1);
  }
  std::ostringstream out;
  // Never overwrites.
  EXPECT_NE(message_of([&] { merge_results({shard(0), shard(1), shard(2)}, dir + "/all.sqlite", out); })
                .find("already exists"),
            std::string::npos);
  // A shard missing.
  std::string m = message_of([&] { merge_results({shard(0), shard(2)}, dir + "/two.sqlite", out); });
  EXPECT_NE(m.find("shard 1 of 3 missing: faults 1, 4, 7, 10, 13, 16, 19, 22, ... (13 in all)"), std::string::npos) << m;
  EXPECT_FALSE(std::filesystem::exists(dir + "/two.sqlite"));
  // The same shard twice.
  m = message_of([&] { merge_results({shard(0), shard(1), shard(1)}, dir + "/twice.sqlite", out); });
  EXPECT_NE(m.find("are both shard 1/3"), std::string::npos) << m;
  // A shard of another campaign (another seed).
  {
    auto a = args(dir + "/other");
    a.insert(a.end(), {"-p", "campaign.seed=6", "--shard", "1/3"});
    ASSERT_EQ(wait_for(spawn(a, dir + "/other.log")), 0);
  }
  m = message_of([&] {
    merge_results({shard(0), dir + "/other/campaign.shard-1-of-3.sqlite", shard(2)}, dir + "/mixed.sqlite", out);
  });
  EXPECT_NE(m.find("are not shards of one campaign: the stored campaign has another configuration: campaign.seed is 5 "
                   "there, 6 here"),
            std::string::npos)
      << m;
  // A whole campaign is not a shard of three.
  m = message_of([&] { merge_results({shard(0), dir + "/one/campaign.sqlite"}, dir + "/whole.sqlite", out); });
  EXPECT_NE(m.find("shards of one campaign share their N"), std::string::npos) << m;
  // A shard with a fault missing (as if killed): which one is said.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(shard(2).c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "DELETE FROM faults WHERE fault_index = 8", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  m = message_of([&] { merge_results({shard(0), shard(1), shard(2)}, dir + "/gap.sqlite", out); });
  EXPECT_NE(m.find("(shard 2/3): 1 of its 13 faults have no row (8); finish it with isimdl campaign ... --shard 2/3 --resume"),
            std::string::npos)
      << m;
  EXPECT_FALSE(std::filesystem::exists(dir + "/gap.sqlite"));
  // Bad --shard values are usage errors.
  for (const char* bad : {"3/3", "1", "-1/3", "1/0", "a/3", "1/3x"}) {
    auto a = args(dir + "/bad");
    a.insert(a.end(), {"--shard", bad});
    EXPECT_EQ(wait_for(spawn(a, dir + "/bad.log")), 2) << bad;
  }
}

// Waits until no process holds the campaign lock of `db` (the ranks of a
// killed MPI job end when they lose their launcher, not at once).
bool lock_released(const std::string& db) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    const int fd = ::open((db + ".lock").c_str(), O_RDWR | O_CREAT, 0644);
    const bool free = fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) == 0;
    if (fd >= 0) ::close(fd);
    if (free) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// Sets an environment variable until the end of the scope, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    const char* before = std::getenv(name);
    had_ = before != nullptr;
    if (had_) saved_ = before;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (had_)
      setenv(name_, saved_.c_str(), 1);
    else
      unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  bool had_ = false;
  std::string saved_;
};

// Starts an MPI job. In the sanitizer build its ranks check memory errors
// but not leaks: Open MPI does not free its own allocations at MPI_Finalize,
// in components LeakSanitizer cannot name to suppress (isimdl's code is
// leak-checked by every other campaign test). Open MPI keeps its session
// files under $TMPDIR/ompi.<host>.<uid> — one fixed name for every job of
// the machine, which two test runs at once would share and remove under
// each other — so each job gets a directory of its own inside this test
// process's (short: PMIx puts sockets there, whose paths must stay under
// 108 bytes).
pid_t spawn_mpi(const std::vector<std::string>& args, const std::string& log) {
  static int jobs = 0;
  const std::filesystem::path tmp = isimdl::test_dir() / ("mpi" + std::to_string(jobs++));
  std::filesystem::create_directories(tmp);
  const char* asan = std::getenv("ASAN_OPTIONS");
  const ScopedEnv leaks("ASAN_OPTIONS", (asan && *asan ? std::string(asan) + ":" : std::string()) + "detect_leaks=0");
  const ScopedEnv tmpdir("TMPDIR", tmp.string());
  const ScopedEnv session("OMPI_MCA_orte_tmpdir_base", tmp.string());
  return spawn(args, log);
}

// MPI (Open MPI from Debian): `mpirun -n 3 isimdl campaign` — rank 0 hands
// out the faults and writes every row, ranks 1 and 2 evaluate them — gives
// the rows of one process; so does a job killed half-way (SIGKILL to
// mpirun) and resumed under mpirun, and a job whose fault worker crashes once.
TEST(Campaign, MpiRanksEqualOneProcess) {
  const std::string dir = temp_dir("campaign_mpi");
  auto args = [&](const std::string& out) {
    auto a = campaign_args(out);
    a.insert(a.end(), {"-p", "campaign.sampler=importance"});
    return a;
  };
  auto mpirun = [&](const std::string& out) {
    std::vector<std::string> a = {"/usr/bin/mpirun", "--allow-run-as-root", "--oversubscribe", "-n", "3"};
    for (const std::string& s : args(out)) a.push_back(s);
    return a;
  };
  ASSERT_EQ(wait_for(spawn(args(dir + "/one"), dir + "/one.log")), 0);
  const std::string expected = full_export(dir + "/one/campaign.sqlite");

  ASSERT_EQ(wait_for(spawn_mpi(mpirun(dir + "/mpi"), dir + "/mpi.log")), 0);
  {
    std::ifstream log(dir + "/mpi.log");
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("MPI: 3 ranks; rank 0 hands out the faults and writes every row"), std::string::npos) << text;
  }
  EXPECT_EQ(full_export(dir + "/mpi/campaign.sqlite"), expected);

  // Killed: a fault worker hangs at fault 20, so the job cannot finish first.
  const std::int64_t kept =
      kill_hung_campaign(mpirun(dir + "/killed"), dir + "/killed/campaign.sqlite", dir + "/killed.log", spawn_mpi);
  EXPECT_GE(kept, 5);
  EXPECT_LT(kept, 40);
  ASSERT_TRUE(lock_released(dir + "/killed/campaign.sqlite"));
  auto resume = mpirun(dir + "/killed");
  resume.push_back("--resume");
  ASSERT_EQ(wait_for(spawn_mpi(resume, dir + "/resumed.log")), 0);
  EXPECT_EQ(full_export(dir + "/killed/campaign.sqlite"), expected);

  // A crash in a rank's fault worker costs a retry, not the rank.
  setenv("ISIMDL_TEST_CRASH_ONCE_AT_FAULT", "7", 1);
  const pid_t crashing = spawn_mpi(mpirun(dir + "/crash"), dir + "/crash.log");
  unsetenv("ISIMDL_TEST_CRASH_ONCE_AT_FAULT");
  ASSERT_EQ(wait_for(crashing), 0);
  EXPECT_TRUE(std::filesystem::exists(dir + "/crash/campaign.sqlite.crashed-once"));
  EXPECT_EQ(full_export(dir + "/crash/campaign.sqlite"), expected);
}

// sweep (configurations across ranks) and compare (samplers x seeds across
// ranks) under mpirun write the files one process writes.
TEST(Campaign, SweepAndCompareOverMpiRanksEqualOneProcess) {
  const std::string dir = temp_dir("mpi_sweep_compare");
  const std::vector<std::string> mpirun = {"/usr/bin/mpirun", "--allow-run-as-root", "--oversubscribe", "-n", "3"};
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  const std::vector<std::string> sweep = {
      ISIMDL_BINARY, "sweep", "--config", kSource + "/configs/default.yaml", "--rows", "4,8", "--cols", "4,8",
      "--vulnerability", "20", "--images", "0:3", "-p", "dataset.dir=" + kSource + "/tests/data", "-q"};
  const std::vector<std::string> compare = {
      ISIMDL_BINARY, "compare", "--config", kSource + "/configs/campaigns/lenet5-isimdl.yaml", "--seeds", "3", "--faults", "30",
      "-p", "dataset.images=0:3", "-p", "array.rows=8", "-p", "array.cols=8", "-p", "dataset.dir=" + kSource + "/tests/data",
      "-q"};
  for (const auto& [name, command] : {std::pair{std::string("sweep"), sweep}, std::pair{std::string("compare"), compare}}) {
    auto one = command, ranks = mpirun;
    one.insert(one.end(), {"--out", dir + "/" + name + "-one"});
    ranks.insert(ranks.end(), command.begin(), command.end());
    ranks.insert(ranks.end(), {"--out", dir + "/" + name + "-mpi"});
    ASSERT_EQ(wait_for(spawn(one, dir + "/" + name + "-one.log")), 0) << read(dir + "/" + name + "-one.log");
    ASSERT_EQ(wait_for(spawn_mpi(ranks, dir + "/" + name + "-mpi.log")), 0) << read(dir + "/" + name + "-mpi.log");
  }
  for (const char* file : {"sweep.csv", "sweep_layers.csv"}) {
    EXPECT_FALSE(read(dir + "/sweep-one/" + file).empty()) << file;
    EXPECT_EQ(read(dir + "/sweep-mpi/" + file), read(dir + "/sweep-one/" + file)) << file;
  }
  for (const char* file : {"precision.csv", "by_group.csv", "table.md"}) {
    EXPECT_FALSE(read(dir + "/compare-one/" + file).empty()) << file;
    EXPECT_EQ(read(dir + "/compare-mpi/" + file), read(dir + "/compare-one/" + file)) << file;
  }
}

TEST(Campaign, SameSeedSameFaultList) {
  const std::string dir = temp_dir("campaign_emit");
  auto a = campaign_args(dir), b = campaign_args(dir);
  a.insert(a.end(), {"--emit-fault-list", dir + "/a.tsv"});
  b.insert(b.end(), {"--emit-fault-list", dir + "/b.tsv"});
  ASSERT_EQ(wait_for(spawn(a, dir + "/la")), 0);
  ASSERT_EQ(wait_for(spawn(b, dir + "/lb")), 0);
  std::ifstream fa(dir + "/a.tsv"), fb(dir + "/b.tsv");
  const std::string ta((std::istreambuf_iterator<char>(fa)), {}), tb((std::istreambuf_iterator<char>(fb)), {});
  EXPECT_EQ(ta, tb);
  EXPECT_EQ(std::count(ta.begin(), ta.end(), '\n'), 41);  // header + 40
  // Running the emitted list gives the same rows as sampling.
  auto run_list = campaign_args(dir + "/from_list");
  run_list.insert(run_list.end(), {"--fault-list", dir + "/a.tsv"});
  auto run_sampled = campaign_args(dir + "/sampled");
  ASSERT_EQ(wait_for(spawn(run_list, dir + "/lc")), 0);
  ASSERT_EQ(wait_for(spawn(run_sampled, dir + "/ld")), 0);
  EXPECT_EQ(export_csv(dir + "/from_list/campaign.sqlite"), export_csv(dir + "/sampled/campaign.sqlite"));
  // --resume with another list of the same length is refused: the list's
  // content defines the campaign.
  // (the same faults, the last two in the other order)
  const auto end_of_second_last = ta.rfind('\n', ta.size() - 2), end_of_third_last = ta.rfind('\n', end_of_second_last - 1);
  const std::string other = ta.substr(0, end_of_third_last + 1) + ta.substr(end_of_second_last + 1) +
                            ta.substr(end_of_third_last + 1, end_of_second_last - end_of_third_last);
  ASSERT_NE(other, ta);
  ASSERT_EQ(other.size(), ta.size());
  std::ofstream(dir + "/c.tsv") << other;
  auto resume_other = campaign_args(dir + "/from_list");
  resume_other.insert(resume_other.end(), {"--fault-list", dir + "/c.tsv", "--resume"});
  EXPECT_EQ(wait_for(spawn(resume_other, dir + "/le")), 1);
  std::ifstream le(dir + "/le");
  const std::string refusal((std::istreambuf_iterator<char>(le)), {});
  EXPECT_NE(refusal.find("--resume: the stored campaign has another fault list (CRC-32"), std::string::npos) << refusal;
}

// One campaign per results file: a second one started meanwhile is refused at
// once, naming the directory and the pid; workers die with their campaign
// (kill -9 of the parent alone used to leave them writing rows).
TEST(Campaign, OneCampaignPerResultsFileAndWorkersDieWithIt) {
  const std::string dir = temp_dir("campaign_lock");
  auto args = campaign_args(dir);
  // Every fault simulated cycle by cycle: slow enough to act while it runs.
  args.insert(args.end(), {"-p", "campaign.faults=400", "--jobs", "2", "--no-oracle"});
  const std::string db = dir + "/campaign.sqlite";
  const pid_t pid = spawn(args, dir + "/log");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (rows_in(db) < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_GE(rows_in(db), 2);

  auto second = args;
  second.push_back("--resume");
  EXPECT_EQ(wait_for(spawn(second, dir + "/log2")), 1);
  std::ifstream log2(dir + "/log2");
  const std::string refusal((std::istreambuf_iterator<char>(log2)), std::istreambuf_iterator<char>());
  EXPECT_NE(refusal.find("a campaign is running in " + dir + " (pid " + std::to_string(pid) + ")"), std::string::npos)
      << refusal;

  kill(pid, SIGKILL);  // the parent only, not its process group
  wait_for(pid);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  const std::int64_t after_kill = rows_in(db);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(rows_in(db), after_kill) << "workers went on writing after their campaign was killed";
  EXPECT_LT(after_kill, 400);
  // No worker holds the lock any more.
  const int fd = ::open((db + ".lock").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  ::close(fd);
}

// --resume compares what defines the campaign, not where it lives or how
// many processes run it: a moved results directory, a trailing slash and
// another campaign.jobs resume; a changed key is refused by name, with both
// values.
TEST(Campaign, ResumeComparesWhatDefinesTheCampaign) {
  const std::string first = temp_dir("campaign_moved_from"), moved = temp_dir("campaign_moved_to");
  auto args = campaign_args(first);
  args.insert(args.end(), {"-p", "campaign.faults=4"});
  ASSERT_EQ(wait_for(spawn(args, first + "/log")), 0);
  std::filesystem::remove_all(moved);
  std::filesystem::rename(first, moved);
  auto resume = campaign_args(moved + "/");
  resume.insert(resume.end(), {"-p", "campaign.faults=4", "-p", "campaign.jobs=2", "--resume"});
  EXPECT_EQ(wait_for(spawn(resume, moved + "/log2")), 0);
  EXPECT_EQ(rows_in(moved + "/campaign.sqlite"), 4);

  // A campaign that ends checkpoints its log: the .sqlite file copied alone
  // holds every row.
  const std::string copy = temp_dir("campaign_copy") + "/only.sqlite";
  std::filesystem::copy_file(moved + "/campaign.sqlite", copy);
  EXPECT_EQ(rows_in(copy), 4);

  // A fault space of another size (another isimdl's register map, say) is
  // refused: the same seed would draw other faults.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((moved + "/campaign.sqlite").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "UPDATE campaign SET population = population + 1", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    auto again = campaign_args(moved);
    again.insert(again.end(), {"-p", "campaign.faults=4", "--resume"});
    EXPECT_EQ(wait_for(spawn(again, moved + "/log_population")), 1);
    std::ifstream log(moved + "/log_population");
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("--resume: the fault space has"), std::string::npos) << text;
    ASSERT_EQ(sqlite3_open((moved + "/campaign.sqlite").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "UPDATE campaign SET population = population - 1", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }

  auto changed = campaign_args(moved);
  changed.insert(changed.end(), {"-p", "campaign.faults=4", "-p", "campaign.critical_drop=0.1", "--resume"});
  EXPECT_EQ(wait_for(spawn(changed, moved + "/log3")), 1);
  std::ifstream log(moved + "/log3");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("the stored campaign has another configuration: campaign.critical_drop is 0.05 there, 0.1 here"),
            std::string::npos)
      << text;
}

std::string fault_list_error(const std::string& body, bool weighted = false) {
  static int n = 0;
  const std::string path = temp_dir("fault_list_" + std::to_string(n++)) + "/faults.tsv";
  std::ofstream(path) << "layer\tcycle\tgroup\tindex\tbit\tkind\twidth\tduration" << (weighted ? "\tweight\n" : "\n") << body;
  ArrayConfig array;
  array.rows = array.cols = 8;
  std::vector<RegisterGroup> groups;
  for (const auto& r : register_map()) groups.push_back(r.group);
  static const QuantizedModel model = load_model(resolve_model_path("lenet5", default_zoo_dir()));
  const FaultSpace space(model, array, groups, FaultKind::kBitFlip);
  try {
    read_fault_list(path, space);
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(path + ":", 0), 0u) << msg;
    return msg.substr(path.size() + 1);
  }
  return "(no error)";
}

TEST(Campaign, BadFaultListLinesAreNamed) {
  EXPECT_EQ(fault_list_error("11\t5\tpe_psum\t0\t3\tbit_flip\t1\t1\n11\t5\tpe_bogus\t0\t3\tbit_flip\t1\t1\n"),
            "3: unknown register group 'pe_bogus'");
  EXPECT_EQ(fault_list_error("11\t5\tpe_valid\t0\t1\tbit_flip\t1\t1\n"),
            "2: layer 11: bit 1 is outside register pe_valid (1 bit)");
  EXPECT_EQ(fault_list_error("11\t999999\tpe_psum\t0\t0\tbit_flip\t1\t1\n")
                .rfind("2: layer 11: fault cycle 999999 is outside the layer's run", 0),
            0u);
  EXPECT_EQ(fault_list_error("11\t5\tpe_psum\t64\t0\tbit_flip\t1\t1\n").rfind("2: layer 11: register pe_psum[64] does not exist", 0), 0u);
  EXPECT_EQ(fault_list_error("11\t5\tpe_psum\n"), "2: expected 8 tab-separated fields, got 3");
  EXPECT_EQ(fault_list_error("11\tfive\tpe_psum\t0\t0\tbit_flip\t1\t1\n"), "2: cycle: expected an integer, got \"five\"");
  EXPECT_EQ(fault_list_error("1\t5\tpe_psum\t0\t0\tbit_flip\t1\t1\n").rfind("2: layer 1 has no enabled register group", 0), 0u);
  // Width and duration must fit the kind (a bit flip of width 2 used to flip one bit and record width 2).
  EXPECT_EQ(fault_list_error("11\t5\tpe_psum\t0\t3\tbit_flip\t2\t1\n").rfind("2: bit_flip is one bit for one edge", 0), 0u);
  EXPECT_EQ(fault_list_error("11\t5\tpe_psum\t0\t3\tbit_flip\t1\t5\n").rfind("2: bit_flip is one bit for one edge", 0), 0u);
  EXPECT_EQ(fault_list_error("11\t5\tpe_psum\t0\t3\tadjacent_bits\t1\t1\n").rfind("2: adjacent_bits flips 2 or more", 0), 0u);
  EXPECT_EQ(fault_list_error("11\t5\tpe_psum\t0\t3\tstuck_at_1\t2\t3\n").rfind("2: stuck_at_1 holds one bit", 0), 0u);
  // Weights: positive, finite, bounded so that the effective sample size stays finite.
  for (const char* w : {"inf", "1e308", "-1", "nan", "0"})
    EXPECT_EQ(fault_list_error(std::string("11\t5\tpe_psum\t0\t3\tbit_flip\t1\t1\t") + w + "\n", true)
                  .rfind("2: weight: expected a positive number up to 1e100", 0),
              0u)
        << w;
  EXPECT_EQ(fault_list_error("11\t5\tpe_psum\t0\t3\tbit_flip\t1\t1\t2.5\n", true), "(no error)");
}

}  // namespace
}  // namespace isimdl

namespace isimdl {
namespace {

// A worker that crashes or hangs costs its fault (recorded as sim_error or
// due), not the campaign: every other fault has its normal row.
TEST(Campaign, CrashedAndHungWorkersAreIsolated) {
  const std::string reference = temp_dir("campaign_isolation_ref"), dir = temp_dir("campaign_isolation");
  auto args = campaign_args(reference);
  args.insert(args.end(), {"-p", "campaign.faults=12", "--jobs", "2"});
  ASSERT_EQ(wait_for(spawn(args, reference + "/log")), 0);

  args = campaign_args(dir);
  // The timeout must exceed a normal fault under sanitizers on a loaded machine.
  args.insert(args.end(), {"-p", "campaign.faults=12", "--jobs", "2", "--fault-timeout", "8"});
  setenv("ISIMDL_TEST_CRASH_AT_FAULT", "3", 1);
  setenv("ISIMDL_TEST_HANG_AT_FAULT", "6", 1);
  const int code = wait_for(spawn(args, dir + "/log"));
  unsetenv("ISIMDL_TEST_CRASH_AT_FAULT");
  unsetenv("ISIMDL_TEST_HANG_AT_FAULT");
  ASSERT_EQ(code, 0);
  // Restarted workers write their faults themselves; the final completeness
  // pass (a safety net) must have had nothing to do.
  std::ifstream log(dir + "/log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("without a result"), std::string::npos) << text;
  ResultsStore ref(reference + "/campaign.sqlite"), got(dir + "/campaign.sqlite");
  const auto want = ref.read_all(), rows = got.read_all();
  ASSERT_EQ(rows.size(), 12u);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].fault_index, static_cast<std::int64_t>(i));
    EXPECT_EQ(rows[i].site, want[i].site);
    if (i == 3) {
      // Crashed on both attempts: a simulator error, not a critical fault.
      EXPECT_EQ(rows[i].sim_errors, 3) << rows[i].error;
      EXPECT_FALSE(rows[i].critical);
      EXPECT_FALSE(rows[i].measured());
      EXPECT_NE(rows[i].error.find("crashed"), std::string::npos) << rows[i].error;
    } else if (i == 6) {
      EXPECT_EQ(rows[i].outcomes[static_cast<std::size_t>(Outcome::kDue)], 3) << rows[i].error;
      EXPECT_NE(rows[i].error.find("hung"), std::string::npos) << rows[i].error;
    } else {
      EXPECT_EQ(rows[i].outcomes, want[i].outcomes) << "fault " << i;
      EXPECT_EQ(rows[i].accuracy, want[i].accuracy) << "fault " << i;
    }
  }
  // The summary leaves the simulator error out of every rate: its estimate
  // is the one over the other eleven faults, and the error is reported apart.
  std::ostringstream summary;
  print_summary(got, summary);
  EXPECT_NE(summary.str().find("simulator errors: 1 faults"), std::string::npos) << summary.str();
  std::vector<double> x, w;
  for (const auto& r : rows)
    if (r.fault_index != 3) x.push_back(r.critical ? 1.0 : 0.0), w.push_back(r.weight);
  const Estimate e = weighted_estimate(x, w);
  EXPECT_NE(summary.str().find(fmt::format("critical-fault rate (drop >= threshold)  {:.4g}", e.value)), std::string::npos)
      << summary.str();
  EXPECT_NE(summary.str().find(fmt::format("faults: {} measured", 11)), std::string::npos) << summary.str();

  // --resume runs the simulator error again (here it no longer crashes):
  // every row then equals the reference campaign's.
  args = campaign_args(dir);
  args.insert(args.end(), {"-p", "campaign.faults=12", "--jobs", "2", "--resume"});
  ASSERT_EQ(wait_for(spawn(args, dir + "/log2")), 0);
  ResultsStore resumed(dir + "/campaign.sqlite");
  const auto after = resumed.read_all();
  ASSERT_EQ(after.size(), 12u);
  EXPECT_TRUE(after[3].measured()) << after[3].error;
  EXPECT_EQ(after[3].outcomes, want[3].outcomes);
  EXPECT_EQ(after[3].accuracy, want[3].accuracy);
}

// A crash on the first attempt only is retried in a fresh worker: the fault
// gets its real row, equal to an undisturbed campaign's.
TEST(Campaign, ACrashedFaultIsRetried) {
  const std::string reference = temp_dir("campaign_retry_ref"), dir = temp_dir("campaign_retry");
  auto args = campaign_args(reference);
  args.insert(args.end(), {"-p", "campaign.faults=8"});
  ASSERT_EQ(wait_for(spawn(args, reference + "/log")), 0);
  args = campaign_args(dir);
  args.insert(args.end(), {"-p", "campaign.faults=8", "--jobs", "2"});
  setenv("ISIMDL_TEST_CRASH_ONCE_AT_FAULT", "5", 1);
  const int code = wait_for(spawn(args, dir + "/log"));
  unsetenv("ISIMDL_TEST_CRASH_ONCE_AT_FAULT");
  ASSERT_EQ(code, 0);
  EXPECT_TRUE(std::filesystem::exists(dir + "/campaign.sqlite.crashed-once"));  // it did crash once
  ResultsStore ref(reference + "/campaign.sqlite"), got(dir + "/campaign.sqlite");
  const auto want = ref.read_all(), rows = got.read_all();
  ASSERT_EQ(rows.size(), want.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_TRUE(rows[i].measured()) << "fault " << i << ": " << rows[i].error;
    EXPECT_EQ(rows[i].outcomes, want[i].outcomes) << "fault " << i;
    EXPECT_EQ(rows[i].accuracy, want[i].accuracy) << "fault " << i;
  }
}

}  // namespace
}  // namespace isimdl
