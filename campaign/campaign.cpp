#include "campaign/campaign.h"
#include "campaign/mpi_ranks.h"
#include "campaign/population_estimates.h"
#include "campaign/worker_pool.h"
#include "runner/model_source.h"

#include <fmt/format.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <cstdlib>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>

#include "hw/accelerator.h"
#include "isimdl/version.h"
#include "models/error.h"
#include "models/model_file.h"
#include "models/random.h"
#include "models/zoo.h"
#include "campaign/fault_list.h"
#include "runner/fault_simulator.h"
#include "sampler/estimators.h"
#include "sampler/stopping.h"
#include "sampler/stratified.h"
#include "sampler/fault_space.h"
#include "sampler/importance_sampler.h"
#include "sampler/sensitivity.h"
#include "sampler/site_scores.h"

namespace isimdl {
namespace {

std::uint32_t file_crc(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return static_cast<std::uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

// A fault whose worker died: recorded so that the campaign goes on. A hang
// past the fault timeout is the fault's outcome (DUE: the accelerator did not
// finish); a crash is the simulator's, not the fault's: a simulator-error row,
// outside every rate, that --resume runs again.
FaultRecord failed_fault(std::int64_t index, const FaultSite& site, int images, bool hung, const std::string& why) {
  FaultRecord r;
  r.fault_index = index;
  r.site = site;
  r.images = images;
  r.error = why;
  if (hung) {
    r.outcomes[static_cast<std::size_t>(Outcome::kDue)] = images;
    r.accuracy = 0;
    r.drop = 1;
    r.critical = true;
  } else {
    r.sim_errors = images;
  }
  return r;
}

// Attempts a fault gets before its worker's crashes make it a simulator error.
constexpr int kFaultAttempts = 2;


// Where a campaign's rows go: --db, or output.dir's campaign.sqlite (a
// shard's own file: shards of one campaign share output.dir in a Slurm job array).
std::string results_path(const Config& config, const CampaignOptions& options) {
  if (!options.database.empty()) return options.database;
  if (options.shard_count > 1)
    return fmt::format("{}/campaign.shard-{}-of-{}.sqlite", config.output_dir, options.shard_index, options.shard_count);
  return config.output_dir + "/campaign.sqlite";
}

// Tags of the MPI campaign's two messages (campaign/mpi_ranks.h): a worker
// rank's rows of its last jobs (empty: it is ready) to rank 0, and rank 0's
// next jobs (empty: stop) to a worker rank. A job is a FaultRecord holding a
// fault's index, site and weight.
constexpr int kTagRows = 1, kTagJobs = 2;

void write_fully(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(fmt::format("worker: cannot write to its parent: {}", std::strerror(errno)));
    done += static_cast<std::size_t>(n);
  }
}

// Reads exactly n bytes; false at end of file before the first byte (the
// writer is gone), Error when it ends inside.
bool read_fully(int fd, void* to, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t got = ::read(fd, static_cast<char*>(to) + done, n - done);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      if (done == 0) return false;
      throw Error("a fault worker's message was cut short");
    }
    done += static_cast<std::size_t>(got);
  }
  return true;
}

void write_frame(int fd, const FaultRecord& r) {
  std::string bytes;
  append_record(bytes, r);
  const auto size = static_cast<std::uint32_t>(bytes.size());
  write_fully(fd, std::string(reinterpret_cast<const char*>(&size), sizeof size) + bytes);
}

// false at end of file (the other side is gone).
bool read_frame(int fd, FaultRecord& r) {
  std::uint32_t size = 0;
  if (!read_fully(fd, &size, sizeof size)) return false;
  std::string bytes(size, '\0');
  if (size > 0 && !read_fully(fd, bytes.data(), size)) throw Error("a fault worker's message was cut short");
  std::size_t offset = 0;
  r = read_record(bytes, offset);
  return true;
}

// A forked worker that evaluates faults one at a time for its parent — a
// campaign's --jobs workers, an MPI worker rank's one — with the isolation a
// campaign promises: a fault that takes longer than the fault timeout is
// its DUE; a worker that crashes is restarted, its fault retried once and
// then recorded as a simulator error. The worker lives across faults,
// keeping the simulator's caches warm (forked with the parent's golden
// cache); jobs and records go through two pipes. It never opens the results
// file: its parent writes every row. `before_fork` runs before each fork (the
// parent closes its results file then: SQLite's connections must not cross
// a fork).
class FaultWorker {
 public:
  FaultWorker(std::function<FaultRecord(const FaultRecord&)> evaluate, const CampaignOptions& options,
              std::string database, int images, std::function<void()> before_fork = {})
      : evaluate_(std::move(evaluate)),
        options_(options),
        database_(std::move(database)),
        images_(images),
        before_fork_(std::move(before_fork)) {}
  // Kills a worker still running (idle or not) and reaps it.
  ~FaultWorker() {
    close_pipes();
    if (pool_) pool_->stop_all();
  }
  FaultWorker(const FaultWorker&) = delete;
  FaultWorker& operator=(const FaultWorker&) = delete;

  // Hands the worker a job (a FaultRecord holding the fault's index, site and
  // weight), starting a worker if none runs.
  void send(const FaultRecord& job) {
    job_ = job;
    if (!pool_) start();
    try {
      write_frame(to_worker_, job);
    } catch (const Error&) {
      // The worker died before it took the job: receive() finds out how.
    }
  }
  bool busy() const { return job_.has_value(); }
  // The pipe the job's record arrives on: poll it for input.
  int record_fd() const { return from_worker_; }
  // Once record_fd() is readable: the job's record; or, if the worker ended
  // on the job, the job's failed record (a hang, a second crash), or nothing
  // after a first crash — the job is then running again in a fresh worker.
  std::optional<FaultRecord> receive() {
    FaultRecord record;
    bool answered = false;
    try {
      answered = read_frame(from_worker_, record);
    } catch (const Error&) {
      answered = false;  // the worker died mid-message
    }
    if (answered) {
      job_.reset();
      return record;
    }
    const FaultRecord job = *job_;
    const int status = end();
    if (WIFEXITED(status) && WEXITSTATUS(status) == 3) throw Error("a fault worker failed (see the message above)");
    const bool hung = WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM;
    if (hung || ++attempts_[job.fault_index] >= kFaultAttempts) {
      const std::string why = hung ? "worker hung (timeout)"
                                   : fmt::format("worker crashed (signal {}) on each of {} attempts",
                                                 WIFSIGNALED(status) ? WTERMSIG(status) : -1, kFaultAttempts);
      FaultRecord failed = failed_fault(job.fault_index, job.site, images_, hung, why);
      failed.weight = job.weight;
      job_.reset();
      return failed;
    }
    send(job);
    return std::nullopt;
  }
  // One record per job, in order, one job at a time.
  std::vector<FaultRecord> run(const std::vector<FaultRecord>& jobs) {
    std::vector<FaultRecord> rows;
    for (const FaultRecord& job : jobs) {
      send(job);
      std::optional<FaultRecord> record;
      while (!(record = receive())) {
      }
      rows.push_back(*record);
    }
    return rows;
  }

 private:
  void start() {
    int jobs[2], records[2];
    if (::pipe(jobs) != 0) throw Error(fmt::format("pipe failed: {}", std::strerror(errno)));
    if (::pipe(records) != 0) {
      ::close(jobs[0]);
      ::close(jobs[1]);
      throw Error(fmt::format("pipe failed: {}", std::strerror(errno)));
    }
    if (before_fork_) before_fork_();
    pool_ = std::make_unique<WorkerPool>();
    pool_->launch(0, [&] {
      ::close(jobs[1]);
      ::close(records[0]);
      FaultRecord job;
      while (read_frame(jobs[0], job)) {
        const std::int64_t index = job.fault_index;
        alarm(static_cast<unsigned>(std::max(1.0, options_.fault_timeout_seconds)));
        if (index == options_.crash_at_fault) std::raise(SIGSEGV);
        if (index == options_.crash_once_at_fault && !std::filesystem::exists(database_ + ".crashed-once")) {
          { std::ofstream(database_ + ".crashed-once") << index << "\n"; }
          std::raise(SIGSEGV);
        }
        if (index == options_.hang_at_fault)
          for (;;) pause();
        const FaultRecord record = evaluate_(job);
        alarm(0);
        write_frame(records[1], record);
      }
    });
    ::close(jobs[0]);
    ::close(records[1]);
    to_worker_ = jobs[1];
    from_worker_ = records[0];
  }
  void close_pipes() {
    if (to_worker_ >= 0) ::close(to_worker_);
    if (from_worker_ >= 0) ::close(from_worker_);
    to_worker_ = from_worker_ = -1;
  }
  // The worker ended (its record pipe reached end of file): reaps it and
  // returns its status.
  int end() {
    close_pipes();
    const auto exit = pool_->wait_blocking();
    pool_.reset();
    return exit ? exit->status : 0;
  }

  std::function<FaultRecord(const FaultRecord&)> evaluate_;
  const CampaignOptions& options_;
  std::string database_;
  int images_;
  std::function<void()> before_fork_;
  std::unique_ptr<WorkerPool> pool_;
  int to_worker_ = -1, from_worker_ = -1;
  std::optional<FaultRecord> job_;
  std::map<std::int64_t, int> attempts_;  // crashes per fault
};

}  // namespace

std::vector<RegisterGroup> enabled_groups(const Config& config) {
  std::vector<RegisterGroup> groups;
  for (const auto& name : config.campaign.groups) groups.push_back(register_group_from_name(name));
  return groups;
}

FaultSpace campaign_space(const Config& config, const QuantizedModel& model) {
  return FaultSpace(model, config.array, enabled_groups(config), config.campaign.kind, config.campaign.adjacent_bits,
                    config.campaign.stuck_cycles, config.campaign.layers);
}

int golden_correct(FaultSimulator& simulator, const MnistSplit& data, const ImageRange& images) {
  int correct = 0;
  for (int image = images.begin; image < images.end; ++image)
    correct += ReferenceEngine::top1(simulator.golden(image).logits()) == data.labels[static_cast<std::size_t>(image)];
  return correct;
}

std::vector<SpaceBlockRecord> space_block_records(const FaultSpace& space, const std::vector<double>& block_max_weight) {
  std::vector<SpaceBlockRecord> out;
  for (std::size_t b = 0; b < space.blocks().size(); ++b) {
    const FaultSpaceBlock& block = space.blocks()[b];
    out.push_back({block.layer, block.group, block.instances, block.positions, block.cycles,
                   block_max_weight.empty() ? 0.0 : block_max_weight[b]});
  }
  return out;
}

FaultRecord evaluate_fault(FaultSimulator& simulator, const MnistSplit& data, const Config& config, int golden_correct,
                           std::int64_t index, const FaultSite& site) {
  FaultRecord r;
  r.fault_index = index;
  r.site = site;
  thread_local std::vector<FaultResult> results;
  simulator.run_fast(site, config.images.begin, config.images.end, results);
  for (int image = config.images.begin; image < config.images.end; ++image) {
    const FaultResult& f = results[static_cast<std::size_t>(image - config.images.begin)];
    if (image == config.images.begin) r.injection = f.injection;
    ++r.outcomes[static_cast<std::size_t>(f.outcome)];
    if (f.outcome != Outcome::kDue) ++r.died[static_cast<std::size_t>(f.died)];
    r.correct += f.outcome != Outcome::kDue && f.top1 == data.labels[static_cast<std::size_t>(image)];
    ++r.images;
  }
  r.golden_correct = golden_correct;
  r.accuracy = static_cast<double>(r.correct) / r.images;
  const double golden = static_cast<double>(r.golden_correct) / r.images;
  r.drop = golden > 0 ? (golden - r.accuracy) / golden : 0.0;
  r.critical = r.drop >= config.campaign.critical_drop;
  return r;
}

CampaignImportance::CampaignImportance(const Config& config, const FaultSpace& space, const QuantizedModel& model,
                                       const MnistSplit& data)
    : live_(space) {
  // ISimDL: sensitivities from the network's own gradients on (up to 32 of)
  // the campaign's images, per-block site sensitivity from the register
  // oracle, bits weighted by the size of their flip.
  const int calibration_end = std::min(config.images.end, config.images.begin + 32);
  const auto sensitivity = compute_sensitivity(model, data, config.images.begin, calibration_end);
  scores_ = isimdl::block_scores(space, live_, model, config.array, data, config.images.begin, calibration_end,
                                 sensitivity, 64, config.campaign.seed ^ 0x5eed);
  sampler_ = std::make_unique<ImportanceSampler>(space, live_, scores_, options(config.campaign));
}

ImportanceSampler::Options CampaignImportance::options(const CampaignConfig& campaign) {
  ImportanceSampler::Options options;
  options.epsilon = campaign.epsilon;
  options.bit_weighting = campaign.bit_weighting;
  options.bit_exponent = campaign.bit_exponent;
  options.defensive_live =
      campaign.defensive == "live" || (campaign.defensive == "auto" && only_live_sites_matter(campaign.kind));
  return options;
}

StoppingRule stopping_rule(const CampaignConfig& campaign) {
  StoppingRule rule;
  rule.margin = campaign.target_margin;
  rule.relative = campaign.relative_margin;
  rule.critical = campaign.until_critical;
  return rule;
}

bool only_live_sites_matter(FaultKind kind) { return kind == FaultKind::kBitFlip || kind == FaultKind::kAdjacentBits; }

FaultList sample_fault_list(const Config& config, const FaultSpace& space, const QuantizedModel& model,
                            const MnistSplit& data, std::ostream& out, const CampaignImportance* given) {
  FaultList list;
  list.block_max_weight.assign(space.blocks().size(), 1.0);
  if (config.campaign.faults == kAllFaults) {
    if (space.size() > 50'000'000) throw Error(fmt::format("faults: all: the space has {} sites; restrict the groups, layers or array", space.size()));
    for (std::uint64_t n = 0; n < space.size(); ++n) list.faults.push_back(space.site(n));
    list.weights.assign(list.faults.size(), 1.0);
    return list;
  }
  Random random(config.campaign.seed);
  if (config.campaign.sampler == SamplerKind::kUniform) {
    for (int i = 0; i < config.campaign.faults; ++i) list.faults.push_back(space.sample_uniform(random));
    list.weights.assign(list.faults.size(), 1.0);
    return list;
  }
  std::unique_ptr<CampaignImportance> own;
  if (!given) own = std::make_unique<CampaignImportance>(config, space, model, data);
  const ImportanceSampler& sampler = (given ? *given : *own).sampler();
  for (std::size_t b = 0; b < space.blocks().size(); ++b)
    list.block_max_weight[b] = sampler.max_weight(b, only_live_sites_matter(config.campaign.kind));
  // A stratified campaign's weights after its pilot depend on the
  // allocation: their bound is not known here (the estimator then uses the
  // largest weight drawn).
  if (config.campaign.stratify) list.block_max_weight.assign(space.blocks().size(), 0.0);
  out << "importance distribution over blocks (layer, group: share of q's sensitivity part):\n";
  for (std::size_t b = 0; b < space.blocks().size(); ++b)
    if (sampler.block_probabilities()[b] >= 0.01)
      out << fmt::format("  layer {:>2} {:<14} {:>6.2f}%\n", space.blocks()[b].layer,
                         register_info(space.blocks()[b].group).group_name, 100 * sampler.block_probabilities()[b]);
  const int draws = config.campaign.stratify ? config.campaign.pilot : config.campaign.faults;
  for (int i = 0; i < draws; ++i) {
    const ImportanceSampler::Draw d = sampler.sample(random);
    list.faults.push_back(d.site);
    list.weights.push_back(d.weight());
  }
  return list;
}

namespace {

// An exclusive flock on <database>.lock holding the owner's pid.
class CampaignLock {
 public:
  explicit CampaignLock(const std::string& database) : path_(database + ".lock") {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT, 0644);
    if (fd_ < 0) throw Error(fmt::format("{}: cannot create the campaign lock: {}", path_, std::strerror(errno)));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      char buffer[32] = {};
      const ssize_t n = ::pread(fd_, buffer, sizeof buffer - 1, 0);
      ::close(fd_);
      const std::string dir = std::filesystem::path(database).parent_path().string();
      throw Error(fmt::format("a campaign is running in {} (pid {}); wait for it, or stop it, before starting another on "
                              "the same results",
                              dir.empty() ? "." : dir, n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : "unknown"));
    }
    const std::string pid = std::to_string(::getpid());
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
      throw Error(fmt::format("{}: cannot write the campaign lock", path_));
  }
  ~CampaignLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  CampaignLock(const CampaignLock&) = delete;
  CampaignLock& operator=(const CampaignLock&) = delete;

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace

void CampaignOptions::test_hooks_from_environment() {
  const auto read = [](const char* name) {
    const char* text = std::getenv(name);
    return text ? std::atoll(text) : -1LL;
  };
  crash_at_fault = read("ISIMDL_TEST_CRASH_AT_FAULT");
  crash_once_at_fault = read("ISIMDL_TEST_CRASH_ONCE_AT_FAULT");
  hang_at_fault = read("ISIMDL_TEST_HANG_AT_FAULT");
}

CampaignInputs open_campaign_inputs(const Config& config) {
  CampaignInputs in;
  in.model_path = resolve_model_path(config.model, default_zoo_dir());
  in.model = open_model(in.model_path, config.dataset);
  in.data = open_test_set(config.dataset, in.model);
  if (config.images.end > in.data.images.count)
    throw ConfigError(images_past_end_message(config, in.data.images.count,
                                              config.dataset.format == "npy" ? config.dataset.inputs : config.dataset.resolved_dir()));
  return in;
}

CampaignSummary run_campaign(const Config& config, const CampaignOptions& options, std::ostream& out,
                             std::ostream& progress) {
  const auto start = std::chrono::steady_clock::now();
  Accelerator& accelerator = shared_accelerator();
  accelerator.configure(config.array);
  const CampaignInputs inputs = open_campaign_inputs(config);
  const std::string& model_path = inputs.model_path;
  const QuantizedModel& model = inputs.model;
  const MnistSplit& data = inputs.data;
  MpiRanks* const mpi = options.mpi && options.mpi->size() > 1 ? options.mpi : nullptr;
  // The evaluation a process's fault workers run (forked after the golden
  // cache is filled): a worker rank's and --jobs' workers; rank 0 of an MPI
  // job evaluates nothing and builds none. A worker writing to a parent that
  // is gone must not be killed by SIGPIPE before its parent-death signal, nor
  // the parent by a worker that died.
  std::optional<FaultSimulator> simulator;
  int golden = 0;
  auto prepare_evaluation = [&] {
    simulator.emplace(accelerator, model, data);
    simulator->set_analytic(!options.simulate_all);
    golden = golden_correct(*simulator, data, config.images);  // computes the golden cache
    std::signal(SIGPIPE, SIG_IGN);
  };
  const auto evaluate_job = [&](const FaultRecord& job) {
    FaultRecord r = evaluate_fault(*simulator, data, config, golden, job.fault_index, job.site);
    r.weight = job.weight;
    return r;
  };
  if (mpi && mpi->rank() > 0) {
    // A worker rank: the golden cache, then the jobs rank 0 hands out until
    // it sends none. It draws nothing (jobs carry their sites and weights).
    prepare_evaluation();
    const std::string database = results_path(config, options);
    FaultWorker worker(evaluate_job, options, database, config.images.size());
    std::string rows;  // the first message says it is ready
    for (;;) {
      mpi->send(0, kTagRows, rows);
      std::string bytes;
      mpi->receive(0, kTagJobs, bytes);
      if (bytes.empty()) break;
      std::vector<FaultRecord> jobs;
      for (std::size_t offset = 0; offset < bytes.size();) jobs.push_back(read_record(bytes, offset));
      const auto done = worker.run(jobs);
      rows.clear();
      for (const FaultRecord& r : done) append_record(rows, r);
    }
    CampaignSummary idle;
    idle.database = database;
    return idle;
  }
  // Rank 0 of an MPI job: the worker ranks that told it they are ready, and
  // the stop it sends every one of them when the campaign ends (an error
  // ends the whole job instead: the command line calls MpiRanks::abort).
  std::vector<int> idle_ranks;
  std::set<int> ready_ranks;
  auto stop_worker_ranks = [&] {
    if (!mpi) return;
    std::string bytes;
    while (static_cast<int>(ready_ranks.size()) < mpi->size() - 1) ready_ranks.insert(mpi->receive_any(kTagRows, bytes));
    for (int r = 1; r < mpi->size(); ++r) mpi->send(r, kTagJobs, std::string());
  };
  const FaultSpace space = campaign_space(config, model);
  out << fmt::format("fault space: {} sites (register bit x cycle) over {} layer/group blocks\n", space.size(),
                     space.blocks().size());
  std::map<std::string, std::uint64_t> per_group;
  std::map<int, std::uint64_t> per_layer;
  for (const auto& b : space.blocks()) {
    per_group[register_info(b.group).group_name] += b.sites();
    per_layer[b.layer] += b.sites();
  }
  for (const auto& [g, n] : per_group) out << fmt::format("  group {:<14} {:>16} sites\n", g, n);
  for (const auto& [l, n] : per_layer) out << fmt::format("  layer {:<14} {:>16} sites\n", l, n);

  const int shards = options.shard_count;
  if (shards < 1 || options.shard_index < 0 || options.shard_index >= shards)
    throw UsageError(fmt::format("--shard: {}/{} is not a shard (expected I/N with 0 <= I < N)", options.shard_index, shards));
  if (shards > 1 && config.campaign.stratify)
    throw UsageError("--shard: a stratified campaign draws its strata from its pilot's outcomes, which no shard has "
                     "alone; run it in one process (or with --jobs)");
  if (shards > 1 && stopping_rule(config.campaign).active())
    throw UsageError("--shard: a stopping rule looks at every fault before each look, which no shard has alone; "
                     "leave out --target-margin and --until-critical");
  const bool stratified = config.campaign.stratify && options.fault_list.empty();
  if (config.campaign.stratify && !options.fault_list.empty())
    throw UsageError("campaign.stratify: a campaign over a given fault list draws nothing; leave out --fault-list");
  if (stratified && !options.emit_fault_list.empty())
    throw UsageError("campaign.stratify: a stratified campaign draws most of its faults after its pilot ran; "
                     "--emit-fault-list cannot write them before");
  std::unique_ptr<CampaignImportance> importance;
  if (stratified) importance = std::make_unique<CampaignImportance>(config, space, model, data);
  FaultList list = options.fault_list.empty() ? sample_fault_list(config, space, model, data, out, importance.get())
                                              : read_fault_list(options.fault_list, space);
  const std::vector<FaultSite>& faults = list.faults;
  // The campaign's size: the list's, or a stratified campaign's budget.
  const std::int64_t planned = stratified ? config.campaign.faults : static_cast<std::int64_t>(faults.size());
  if (!options.emit_fault_list.empty()) {
    write_fault_list(options.emit_fault_list, list);
    out << fmt::format("wrote {} faults to {}\n", faults.size(), options.emit_fault_list);
    stop_worker_ranks();
    CampaignSummary emitted;
    emitted.planned = static_cast<std::int64_t>(faults.size());
    return emitted;
  }

  std::filesystem::create_directories(config.output_dir);
  const std::string database = results_path(config, options);
  // One campaign per results file: a second one (or a --resume) started while
  // this one runs is refused at once. The lock lives as long as this process
  // or any of its workers holds the descriptor.
  const CampaignLock lock(database);
  write_resolved_config(config, config.output_dir);
  CampaignInfo info;
  info.version = kVersion;
  // A campaign over a fault list is defined by the list's content too (its
  // path is not compared by --resume; its CRC is).
  info.config_yaml = to_yaml(config) + (options.fault_list.empty()
                                            ? std::string()
                                            : fmt::format("# fault list: {}\n# fault list crc: {:08x}\n",
                                                          options.fault_list, file_crc(options.fault_list)));
  info.model_path = model_path;
  info.model_crc = file_crc(model_path);
  info.array_yaml = fmt::format("rows: {}\ncols: {}\ntiming: {}\n{}", config.array.rows, config.array.cols,
                                to_string(config.array.timing),
                                config.array.dataflow == Dataflow::kWeightStationary
                                    ? std::string()
                                    : fmt::format("dataflow: {}\n", to_string(config.array.dataflow)));
  info.seed = config.campaign.seed;
  info.planned_faults = planned;
  info.population = space.size();
  info.shard_index = options.shard_index;
  info.shard_count = shards;
  info.blocks = space_block_records(space, list.block_max_weight);
  std::set<std::int64_t> done;
  {
    ResultsStore store(database);
    store.begin(info, options.resume);
    done = store.measured_faults();  // simulator-error rows run again
  }
  std::vector<std::int64_t> todo;
  const std::int64_t mine = info.shard_faults();
  for (std::int64_t i = options.shard_index; i < planned; i += shards)
    if (!done.count(i)) todo.push_back(i);
  CampaignSummary summary;
  summary.planned = mine;
  summary.skipped = static_cast<std::int64_t>(done.size());
  summary.database = database;
  if (shards > 1)
    out << fmt::format("shard {}/{}: the {} faults of the campaign's {} whose index is {} modulo {}\n",
                       options.shard_index, shards, mine, planned, options.shard_index, shards);
  out << fmt::format("{} faults x {} images; {} already in {}, {} to run\n", mine, config.images.size(),
                     done.size(), database, todo.size());
  if (mpi)
    out << fmt::format("MPI: {} ranks; rank 0 hands out the faults and writes every row, ranks 1..{} evaluate them\n",
                       mpi->size(), mpi->size() - 1);

  const int jobs = std::max(1, options.jobs > 0 ? options.jobs : config.campaign.jobs);
  const bool show_progress = !options.quiet && isatty(STDERR_FILENO);
  // Workers are forked processes (SystemC is elaborated once, before the
  // fork): a crash or hang costs one fault, not the campaign (FaultWorker).
  if (!mpi) prepare_evaluation();
  const auto job_of = [&](std::int64_t index) {
    FaultRecord job;
    job.fault_index = index;
    job.site = faults[static_cast<std::size_t>(index)];
    job.weight = list.weights[static_cast<std::size_t>(index)];
    return job;
  };
  std::vector<std::unique_ptr<FaultWorker>> workers;
  std::unique_ptr<ResultsStore> rows_store;  // the parent's connection while a batch runs

  auto report_progress = [&](bool final) {
    if (!show_progress) return;
    ResultsStore store(database);
    const auto [finished, critical] = store.counts();
    const std::int64_t now = finished - static_cast<std::int64_t>(done.size());
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = now / std::max(secs, 1e-9);
    const double eta = rate > 0 ? static_cast<double>(static_cast<std::int64_t>(todo.size()) - now) / rate : 0;
    progress << fmt::format("\r{} / {} faults, {:.1f} faults/s, ETA {:.0f} s, {} critical   {}", finished,
                            mine, rate, eta, critical, final ? "\n" : "")
             << std::flush;
  };
  // MPI: each worker rank gets a few faults at a time, the next as soon as
  // its rows are back, so that slow faults do not stall the others; rank 0
  // writes each message's rows in one transaction.
  double writer_seconds = 0;
  std::int64_t writer_rows = 0;
  auto mpi_run_batch = [&](const std::vector<std::int64_t>& batch) {
    ResultsStore store(database);
    const std::size_t workers = static_cast<std::size_t>(mpi->size() - 1);
    std::size_t next = 0;
    int busy = 0;
    auto hand_out = [&](int rank) {
      if (next >= batch.size()) {
        idle_ranks.push_back(rank);
        return;
      }
      const std::size_t chunk = std::clamp<std::size_t>((batch.size() - next) / (2 * workers), 1, 16);
      std::string bytes;
      for (const std::size_t end = std::min(batch.size(), next + chunk); next < end; ++next) {
        FaultRecord job;
        job.fault_index = batch[next];
        job.site = faults[static_cast<std::size_t>(batch[next])];
        job.weight = list.weights[static_cast<std::size_t>(batch[next])];
        append_record(bytes, job);
      }
      mpi->send(rank, kTagJobs, bytes);
      ++busy;
    };
    std::vector<int> ready;
    ready.swap(idle_ranks);
    for (int rank : ready) hand_out(rank);
    while (next < batch.size() || busy > 0) {
      std::string bytes;
      const int from = mpi->receive_any(kTagRows, bytes);
      if (bytes.empty()) {
        ready_ranks.insert(from);  // its first message
      } else {
        --busy;
        std::vector<FaultRecord> rows;
        for (std::size_t offset = 0; offset < bytes.size();) rows.push_back(read_record(bytes, offset));
        const auto t0 = std::chrono::steady_clock::now();
        store.write_all(rows);
        writer_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        writer_rows += static_cast<std::int64_t>(rows.size());
        report_progress(false);
      }
      hand_out(from);
    }
  };
  auto run_batch = [&](const std::vector<std::int64_t>& batch) {
  if (mpi) {
    mpi_run_batch(batch);
    std::vector<std::int64_t> missing;
    {
      ResultsStore store(database);
      const std::set<std::int64_t> finished = store.finished_faults();
      for (std::int64_t index : batch)
        if (!finished.count(index)) missing.push_back(index);
    }
    if (!missing.empty())
      throw Error(fmt::format("internal: {} faults of the batch have no row after every rank answered", missing.size()));
    return;
  }
  // --jobs: each idle worker gets the next fault; the rows that arrived in
  // one poll round are committed together (the parent is the one writer,
  // and never forks with the results file open).
  if (workers.empty())
    for (int w = 0; w < jobs; ++w)
      workers.push_back(std::make_unique<FaultWorker>(evaluate_job, options, database, config.images.size(),
                                                      [&] { rows_store.reset(); }));
  std::size_t next = 0;
  for (auto& worker : workers)
    if (next < batch.size()) worker->send(job_of(batch[next++]));
  for (;;) {
    std::vector<pollfd> ready;
    std::vector<FaultWorker*> polled;
    for (auto& worker : workers)
      if (worker->busy()) {
        ready.push_back({worker->record_fd(), POLLIN, 0});
        polled.push_back(worker.get());
      }
    if (polled.empty()) break;
    const int n = ::poll(ready.data(), ready.size(), 100);
    if (n < 0 && errno != EINTR) throw Error(fmt::format("poll failed: {}", std::strerror(errno)));
    if (n <= 0) {
      report_progress(false);
      continue;
    }
    std::vector<FaultRecord> rows;
    for (std::size_t i = 0; i < polled.size(); ++i) {
      if (!(ready[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (std::optional<FaultRecord> row = polled[i]->receive()) {
        rows.push_back(std::move(*row));
        if (next < batch.size()) polled[i]->send(job_of(batch[next++]));
      }
    }
    if (!rows.empty()) {
      if (!rows_store) rows_store = std::make_unique<ResultsStore>(database);
      rows_store->write_all(rows);
    }
  }
  rows_store.reset();
  };
  const StoppingRule rule = stopping_rule(config.campaign);
  if (stratified) {
    // The pilot, then Neyman's allocation from its outcomes, then the
    // strata (sampler/stratified.h). The plan is a function of the pilot's
    // rows: a resumed campaign draws the same faults.
    const std::int64_t pilot = config.campaign.pilot;
    std::vector<std::int64_t> first, rest;
    for (std::int64_t index : todo) (index < pilot ? first : rest).push_back(index);
    run_batch(first);
    std::vector<PilotDraw> drawn;
    {
      ResultsStore store(database);
      for (const FaultRecord& r : store.read_all())
        if (r.fault_index < pilot && r.measured()) drawn.push_back({r.site, r.weight, r.critical ? 1.0 : 0.0});
    }
    const StratifiedPlan plan = neyman_allocation(space, importance->sampler(), drawn, planned - pilot);
    Random random(config.campaign.seed ^ 0x57a7'1f1e'd5a3'11ceULL);
    const StratifiedDraws strata = stratified_draws(importance->sampler(), plan, random);
    list.faults.insert(list.faults.end(), strata.sites.begin(), strata.sites.end());
    list.weights.insert(list.weights.end(), strata.weights.begin(), strata.weights.end());
    std::string allocation;
    for (std::size_t b = 0; b < plan.draws.size(); ++b)
      allocation += fmt::format("{}layer {} {}: {}", b ? ", " : "", space.blocks()[b].layer,
                                register_info(space.blocks()[b].group).group_name, plan.draws[b]);
    out << fmt::format("stratified: pilot of {} faults, then {} by Neyman's allocation: {}\n", pilot, planned - pilot,
                       allocation);
    run_batch(rest);
  } else if (!rule.active()) {
    run_batch(todo);
  } else {
    summary.stopping_rule = true;
    // The fixed schedule of looks (sampler/stopping.h): run up to the next
    // look, estimate from the faults before it, stop when the rule is met.
    EstimateOptions look;
    look.confidence = look_confidence(static_cast<std::int64_t>(faults.size()));
    look.max_weight = list.block_max_weight.empty()
                          ? 0.0
                          : *std::max_element(list.block_max_weight.begin(), list.block_max_weight.end());
    std::int64_t previous = 0;
    for (const std::int64_t at : look_schedule(static_cast<std::int64_t>(faults.size()))) {
      std::vector<std::int64_t> batch;
      for (std::int64_t index : todo)
        if (index >= previous && index < at) batch.push_back(index);
      run_batch(batch);
      previous = at;
      std::vector<double> x, w;
      {
        ResultsStore store(database);
        for (const FaultRecord& r : store.read_all())
          if (r.fault_index < at && r.measured()) {
            x.push_back(r.critical ? 1.0 : 0.0);
            w.push_back(r.weight);
          }
      }
      const Estimate e = weighted_estimate(x, w, look);
      if (rule.met(e)) {
        summary.stopped_at = at;
        summary.stop_reason = rule.reason(e);
        break;
      }
    }
  }
  report_progress(true);
  stop_worker_ranks();
  if (mpi && writer_rows > 0)
    out << fmt::format("MPI writer: {} rows committed in {:.3f} s of writing ({:.0f} rows/s)\n", writer_rows,
                       writer_seconds, writer_rows / std::max(writer_seconds, 1e-9));
  ResultsStore store(database);
  store.checkpoint();  // the .sqlite file alone now holds every row
  const auto records = store.read_all();
  summary.run_now = static_cast<std::int64_t>(records.size()) - summary.skipped;
  for (const auto& r : records) {
    summary.critical += r.measured() && r.critical;
    summary.sim_errors += !r.measured();
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

namespace {

std::string interval_text(const Estimate& e) {
  if (e.exact) return fmt::format("{:.4g} (exact)", e.value);
  return fmt::format("{:.4g}  [{:.3g}, {:.3g}]", e.value, e.lo, e.hi);
}

}  // namespace

void print_population_estimates(const CampaignInfo& info, const std::vector<FaultRecord>& records, std::ostream& out,
                                int top_pes) {
  // Under a stopping rule the headline intervals are at the per-look
  // confidence (95% jointly over the looks; sampler/stopping.h).
  bool stopping = false;
  try {
    stopping = stopping_rule(parse_config(info.config_yaml, "stored configuration").campaign).active();
  } catch (const Error&) {
  }
  EstimateOptions headline;
  if (stopping) headline.confidence = look_confidence(info.planned_faults);
  const PopulationEstimates p = population_estimates(info, records, headline);
  const Estimate& c = p.rate[static_cast<int>(RateKind::kCritical)];
  const std::string level =
      stopping ? fmt::format("{:.2f}% intervals at each of the stopping rule's {} looks, 95% jointly",
                             100 * headline.confidence, look_schedule(info.planned_faults).size())
               : "95% intervals";
  const bool weighted = std::any_of(records.begin(), records.end(), [](const FaultRecord& r) { return r.weight != 1.0; });
  out << (p.exact ? "population rates over the fault space (exhaustive campaign: exact):\n"
                  : fmt::format("population rates over the fault space ({}; {}, docs/sampling.md \"The interval\"):\n",
                                weighted ? "importance-weighted" : "uniform sampling", level));
  out << fmt::format("  critical-fault rate (drop >= threshold)  {}\n", interval_text(c));
  out << fmt::format("  top-1 SDC rate per (fault, image)        {}\n", interval_text(p.rate[static_cast<int>(RateKind::kTop1Sdc)]));
  out << fmt::format("  any-SDC rate per (fault, image)          {}\n", interval_text(p.rate[static_cast<int>(RateKind::kAnySdc)]));
  out << fmt::format("  mean relative accuracy drop              {}\n",
                     p.exact ? interval_text(p.drop) : interval_text(p.drop) + " (normal interval)");
  std::int64_t measured = 0;
  for (const auto& r : records) measured += r.measured();
  out << fmt::format("faults: {} measured, {} critical found, effective sample size {:.1f}; precision (critical among "
                     "simulated) {:.4f}\n",
                     c.n, c.nonzero, c.effective_sample_size, measured ? static_cast<double>(c.nonzero) / static_cast<double>(measured) : 0.0);
  if (c.nonzero == 0 && !p.exact && c.n > 0)
    out << fmt::format("no critical fault found: the rate is below {:.3g} with 95% confidence, all {} faults can say\n", c.hi, c.n);
  if (!p.have_space) {
    out << "per-structure rates: this results file does not record its fault space (written before isimdl kept it); "
           "rerun the campaign for them\n";
    return;
  }
  auto table = [&](const std::string& breakdown, const char* title, int limit) {
    std::vector<const StructureEstimate*> rows;
    for (const StructureEstimate& s : p.structures)
      if (s.breakdown == breakdown) rows.push_back(&s);
    if (rows.empty()) return;
    const std::size_t total = rows.size();
    if (limit > 0 && rows.size() > static_cast<std::size_t>(limit)) {
      std::stable_sort(rows.begin(), rows.end(), [](const StructureEstimate* a, const StructureEstimate* b) {
        return a->rate[0].value > b->rate[0].value;
      });
      rows.resize(static_cast<std::size_t>(limit));
    }
    out << title;
    if (rows.size() < total) out << fmt::format(" (the {} highest of {}; `isimdl results export --breakdown {}` lists all)", rows.size(), total, breakdown);
    out << ":\n";
    out << fmt::format("  {:<14} {:>8} {:>7}  {:<28} {:<28} {:<28}\n", breakdown, "share", "faults", "critical [95% interval]",
                       "top-1 SDC [95% interval]", "any SDC [95% interval]");
    for (const StructureEstimate* s : rows) {
      std::string line = fmt::format("  {:<14} {:>7.3f}% {:>7}", s->structure, 100 * s->share, s->faults);
      for (int k = 0; k < kRateKinds; ++k) line += fmt::format("  {:<28}", interval_text(s->rate[k]));
      out << line << "\n";
    }
  };
  table("group", "AVF per register group (population rates over every site of the group)", 0);
  table("layer", "per layer", 0);
  table("bit", "per bit position", 0);
  table("pe", "per PE (PE registers)", top_pes);
}

void print_summary(ResultsStore& store, std::ostream& out) {
  const CampaignInfo info = store.info();
  const std::vector<FaultRecord> records = store.read_all();
  if (info.shard_count > 1) {
    const std::int64_t mine = info.shard_faults();
    out << fmt::format("{}: shard {}/{}, {} of its {} faults (of the campaign's {}), model {}\n", store.path(),
                       info.shard_index, info.shard_count, records.size(), mine, info.planned_faults, info.model_path);
    out << "(the estimates below are this shard's alone; isimdl results merge joins the shards)\n";
  } else {
    out << fmt::format("{}: {} of {} planned faults, model {}\n", store.path(), records.size(), info.planned_faults,
                       info.model_path);
  }
  struct Tally {
    std::int64_t faults = 0, critical = 0, evaluations = 0, sim_errors = 0;
    std::array<std::int64_t, kOutcomeCount> outcomes{};
  };
  std::map<std::string, Tally> by_group;
  std::map<int, Tally> by_layer;
  Tally all;
  // Rates are over the measured faults; simulator errors are counted apart.
  std::vector<std::int64_t> errors;
  for (const auto& r : records)
    for (Tally* t : {&by_group[register_info(r.site.group).group_name], &by_layer[r.site.layer], &all}) {
      if (!r.measured()) {
        ++t->sim_errors;
        if (t == &all) errors.push_back(r.fault_index);
        continue;
      }
      ++t->faults;
      t->critical += r.critical;
      t->evaluations += r.images;
      for (int o = 0; o < kOutcomeCount; ++o) t->outcomes[static_cast<std::size_t>(o)] += r.outcomes[static_cast<std::size_t>(o)];
    }
  auto row = [&](const std::string& name, const Tally& t) {
    std::string line = fmt::format("  {:<16} {:>8} {:>9.2f}%", name, t.faults, 100.0 * t.critical / std::max<std::int64_t>(1, t.faults));
    for (int o = 0; o < kOutcomeCount; ++o)
      line += fmt::format(" {:>10.3f}%", 100.0 * static_cast<double>(t.outcomes[static_cast<std::size_t>(o)]) /
                                              static_cast<double>(std::max<std::int64_t>(1, t.evaluations)));
    out << line << fmt::format(" {:>9}\n", t.sim_errors);
  };
  auto header = [&](const char* what) {
    std::string line = fmt::format("  {:<16} {:>8} {:>10}", what, "faults", "critical");
    for (int o = 0; o < kOutcomeCount; ++o) line += fmt::format(" {:>11}", to_string(static_cast<Outcome>(o)));
    out << line << fmt::format(" {:>9}\n", "sim_error");
  };
  const bool weighted = std::any_of(records.begin(), records.end(), [](const FaultRecord& r) { return r.weight != 1.0; });
  out << fmt::format("outcome rates per (fault, image) among the faults simulated{}, per register group:\n",
                     weighted ? " (sample shares, not population rates: see the estimates below)" : "");
  header("group");
  for (const auto& [g, t] : by_group) row(g, t);
  out << "per layer:\n";
  header("layer");
  for (const auto& [l, t] : by_layer) row(std::to_string(l), t);
  header("all");
  row("all", all);
  print_population_estimates(info, records, out);
  if (!errors.empty()) {
    std::string list;
    for (std::size_t i = 0; i < errors.size() && i < 20; ++i) list += (i ? ", " : "") + std::to_string(errors[i]);
    out << fmt::format("simulator errors: {} faults (the simulator crashed on them; not outcomes of the faults, outside "
                       "every rate and estimate above; --resume runs them again): {}{}\n",
                       errors.size(), list, errors.size() > 20 ? ", ..." : "");
  }
  const double population = static_cast<double>(info.population);
  if (!weighted && population > 0 && all.faults > 0)
    out << fmt::format("uniform sampling (Leveugle et al., DATE 2009): {} faults give a margin of {:.4f} at 95% "
                       "confidence; a 1% margin needs {:.0f} faults\n",
                       all.faults, leveugle_margin(population, static_cast<double>(all.faults)),
                       std::ceil(leveugle_sample_size(population, 0.01)));
}

void export_results(ResultsStore& store, const std::string& format, std::ostream& out) {
  const std::vector<FaultRecord> records = store.read_all();
  if (format == "csv") {
    out << fault_csv_header();
    for (const auto& r : records) out << fault_csv_row(r);
    return;
  }
  if (format != "json") throw UsageError("results export: --format must be csv or json, got '" + format + "'");
  out << "[\n";
  for (std::size_t i = 0; i < records.size(); ++i)
    out << "  " << fault_json_object(records[i]) << (i + 1 < records.size() ? "," : "") << "\n";
  out << "]\n";
}

}  // namespace isimdl
