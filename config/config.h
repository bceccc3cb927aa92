#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hw/array_config.h"
#include "hw/fault_site.h"

namespace isimdl {

enum class SamplerKind { kUniform, kImportance };

const char* to_string(SamplerKind kind);

// Half-open range [begin, end) of dataset image indices, written "begin:end".
struct ImageRange {
  int begin = 0;
  int end = 256;
  int size() const { return end - begin; }
};
ImageRange parse_image_range(const std::string& text);  // throws Error
std::string to_string(const ImageRange& range);

// Register groups a campaign can enable (docs/hardware.md describes each).
const std::vector<std::string>& fault_group_names();

inline constexpr int kAllFaults = -1;  // campaign.faults: all

struct CampaignConfig {
  int faults = 1000;  // budget; kAllFaults = exhaustive
  std::uint64_t seed = 1;
  SamplerKind sampler = SamplerKind::kImportance;
  double epsilon = 0.3;         // share of q's defensive part (docs/sampling.md, "Intervals against exhaustive truths")
  bool bit_weighting = true;    // importance: weigh bits by the size of their flip
  double bit_exponent = 0.5;    // importance: bit b weighs 2^(bit_exponent * b)
  // importance: q's epsilon part over every site (prior), over live sites
  // (live), or live for single-edge faults and prior for stuck-at (auto)
  std::string defensive = "auto";
  double critical_drop = 0.05;  // relative accuracy drop that makes a fault critical
  FaultKind kind = FaultKind::kBitFlip;
  int adjacent_bits = 2;        // for kAdjacentBits
  int stuck_cycles = 1;         // window length for stuck-at kinds
  std::vector<std::string> groups = fault_group_names();
  std::vector<int> layers;      // model layers faults may hit; empty = every array layer
  int jobs = 1;
  // Stopping rules (sampler/stopping.h), checked at a fixed schedule of
  // looks: stop once the critical rate's interval half-width is at most
  // target_margin (relative_margin: half-width / estimate), or once
  // until_critical critical faults were found; 0 = off. `faults` is the budget.
  double target_margin = 0;
  bool relative_margin = false;
  int until_critical = 0;
  // Stratified importance sampling (sampler/stratified.h): a pilot of
  // `pilot` faults from q, then Neyman's allocation over the (layer,
  // register group) strata for the rest of the budget.
  bool stratify = false;
  int pilot = 200;
};

// Where a run's images come from (docs/configuration.md, "dataset").
//   mnist, fashion-mnist: IDX files in `dir` (train-*/t10k-* as MNIST ships them;
//     scripts/setup fetches both, Fashion-MNIST with isimdl's own split)
//   npy: images from the .npy file `inputs` (N x C x H x W or N x H x W x C,
//     uint8 or float32), labels from `labels` (integers), or, without labels,
//     the model's own fault-free predictions; the same file serves as the
//     test set and as the calibration set.
// Images become the network's float input per channel as
// x = (pixel / 255 - mean[c]) / std[c] (uint8) or (value - mean[c]) / std[c]
// (float32); one value applies to every channel.
struct DatasetConfig {
  std::string format = "auto";  // auto: the zoo model's dataset, else mnist
  std::string dir;  // empty: .cache/mnist or .cache/fashion-mnist by format
  std::string inputs, labels;
  std::vector<double> mean{0.0}, std{1.0};
  std::string layout = "auto";  // npy: nchw, nhwc, or auto (channel dimension of size 1 or 3)
  std::string resolved_dir() const;
  // `auto` made concrete for `model`: a zoo model's dataset, else mnist.
  DatasetConfig resolved_for(const std::string& model) const;
};

// The whole configuration of a run, parsed and validated in one place
// (config/config.cpp). Paths are relative to the working directory.
struct Config {
  std::string model = "lenet5";  // zoo name or path to a model file
  DatasetConfig dataset;
  ImageRange images;
  // Where dataset.images was set ("the command line" or the file), for
  // messages about it; not part of the configuration.
  std::string images_origin = "the defaults";
  ArrayConfig array;
  CampaignConfig campaign;
  std::string output_dir = "results/default";
};

bool operator==(const CampaignConfig& a, const CampaignConfig& b);
bool operator==(const DatasetConfig& a, const DatasetConfig& b);
bool operator==(const Config& a, const Config& b);

// Parses a YAML configuration file, applies `-p key.path=value` overrides (in
// order) and validates every key. Throws ConfigError whose message names the
// file, the line and the key path, e.g.
//   configs/arrays/16x16.yaml:4: array.rows: expected a positive integer, got "sixteen"
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});

// "dataset.images: range B:E (from ORIGIN) exceeds the N test images of WHERE":
// the message every command gives for an image range past the dataset.
std::string images_past_end_message(const Config& config, int available, const std::string& where);

// Same, from text already in memory; `source_name` stands in for the file name.
Config parse_config(const std::string& text, const std::string& source_name,
                    const std::vector<std::string>& overrides = {});

// The fully resolved configuration (defaults filled in) as YAML that
// parse_config reads back to an equal Config.
std::string to_yaml(const Config& config);

// Writes to_yaml(config) to `<dir>/config.resolved.yaml`, creating `dir`.
std::string write_resolved_config(const Config& config, const std::string& dir);

}  // namespace isimdl
