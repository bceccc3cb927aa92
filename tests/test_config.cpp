#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "tests/test_dir.h"
#include "models/error.h"
#include "config/config.h"

namespace isimdl {
namespace {

const std::string kSource = ISIMDL_SOURCE_DIR;

std::string config_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string parse_error(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return config_error([&] { parse_config(text, "test.yaml", overrides); });
}

TEST(Config, DefaultFileParsesToDocumentedDefaults) {
  const Config c = load_config(kSource + "/configs/default.yaml");
  EXPECT_EQ(c.model, "lenet5");
  EXPECT_EQ(c.array.rows, 16);
  EXPECT_EQ(c.array.cols, 16);
  EXPECT_EQ(c.array.timing, TimingMode::kScaleSim);
  EXPECT_EQ(c.campaign.sampler, SamplerKind::kImportance);
  EXPECT_DOUBLE_EQ(c.campaign.epsilon, 0.3);
  EXPECT_EQ(c.campaign.defensive, "auto");
  EXPECT_EQ(c.images.begin, 0);
  EXPECT_EQ(c.images.end, 256);
}

TEST(Config, EveryShippedConfigIsValid) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(kSource + "/configs"))
    if (entry.path().extension() == ".yaml") {
      EXPECT_NO_THROW(load_config(entry.path().string())) << entry.path();
    }
}

TEST(Config, PartialFileKeepsDefaults) {
  const Config c = parse_config("array:\n  rows: 8\n", "test.yaml");
  EXPECT_EQ(c.array.rows, 8);
  EXPECT_EQ(c.array.cols, Config().array.cols);
  EXPECT_EQ(c.campaign, Config().campaign);
}

TEST(Config, WrongTypeNamesFileLineAndKey) {
  EXPECT_EQ(parse_error("model: lenet5\narray:\n  cols: 16\n  rows: sixteen\n"),
            "test.yaml:4: array.rows: expected an integer in 1..256, got \"sixteen\"");
}

TEST(Config, DatasetSection) {
  const Config c = parse_config("dataset:\n  format: npy\n  inputs: x.npy\n  mean: [0.5, 0.4, 0.3]\n  std: [0.2]\n", "t.yaml");
  EXPECT_EQ(c.dataset.format, "npy");
  EXPECT_EQ(c.dataset.mean, (std::vector<double>{0.5, 0.4, 0.3}));
  EXPECT_EQ(parse_config("dataset:\n  format: fashion-mnist\n", "t.yaml").dataset.resolved_dir(), ".cache/fashion-mnist");
  EXPECT_NE(parse_error("dataset:\n  format: npy\n").find("dataset.inputs: format npy needs the .npy file of images"),
            std::string::npos);
  EXPECT_NE(parse_error("dataset:\n  format: cifar\n").find("dataset.format"), std::string::npos);
  EXPECT_NE(parse_error("dataset:\n  std: [0]\n").find("dataset.std: item 1"), std::string::npos);
  // format auto follows the model: a Fashion-MNIST zoo model reads Fashion-MNIST, others MNIST.
  EXPECT_EQ(parse_config("model: resnet8\n", "t.yaml").dataset.resolved_dir(), ".cache/fashion-mnist");
  EXPECT_EQ(parse_config("model: lenet5\n", "t.yaml", {"model=mobilenet-tiny"}).dataset.format, "fashion-mnist");
  EXPECT_EQ(parse_config("model: resnet8\ndataset:\n  format: mnist\n", "t.yaml").dataset.format, "mnist");
  EXPECT_EQ(parse_config("model: my.onnx\n", "t.yaml").dataset.format, "mnist");
  // The shipped default configuration names no dataset directory: switching
  // its model to a Fashion-MNIST zoo model reads Fashion-MNIST's files, not
  // MNIST's under Fashion-MNIST's name.
  EXPECT_EQ(load_config(kSource + "/configs/default.yaml", {"model=mobilenet-tiny"}).dataset.resolved_dir(),
            ".cache/fashion-mnist");
  EXPECT_EQ(load_config(kSource + "/configs/default.yaml").dataset.resolved_dir(), ".cache/mnist");
  // The resolved configuration reads back to the same configuration.
  EXPECT_EQ(parse_config(to_yaml(c), "resolved.yaml"), c);
}

// Found by fuzzing (tests/fuzz/regressions): yaml-cpp 0.7 loops forever,
// allocating, on some invalid UTF-8; a configuration must be UTF-8 text
// without control characters, checked before yaml-cpp reads it.
TEST(Config, InvalidTextIsRefusedBeforeYamlCppSeesIt) {
  const std::string hang = kSource + "/tests/fuzz/regressions/config/yaml-cpp-loops-on-invalid-utf8.yaml";
  try {
    load_config(hang);
    FAIL() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(":1: byte 0x9b at offset 28: not valid UTF-8"), std::string::npos) << e.what();
  }
  EXPECT_NE(parse_error(std::string("model: lenet5\n# a\0b\n", 21)).find("test.yaml:2: byte 0x00"), std::string::npos);
  EXPECT_NE(parse_error("model: \xc3\n").find("not valid UTF-8"), std::string::npos);
  // UTF-8 text, a byte-order mark and CRLF line ends are fine.
  EXPECT_EQ(parse_config("\xEF\xBB\xBFmodel: lenet5  # r\xC3\xA9sum\xC3\xA9 \xE2\x9C\x93\r\n", "t.yaml").model, "lenet5");
  EXPECT_THROW(parse_config("model: lenet5\n", "t.yaml", {"model=\x9b"}), ConfigError);
  // yaml-cpp's LoadAll loops forever on a stray flow token: not used.
  const std::string stray = kSource + "/tests/fuzz/regressions/config/yaml-cpp-loadall-loops-on-stray-comma.yaml";
  EXPECT_THROW(load_config(stray), ConfigError);
  // Documents: one, with its markers, is a configuration; a second is refused.
  EXPECT_EQ(parse_config("%YAML 1.2\n---\nmodel: mlp\n...\n# end\n", "t.yaml").model, "mlp");
  EXPECT_NE(parse_error("model: mlp\n---\nmodel: lenet5\n").find("test.yaml:2: a second YAML document"), std::string::npos);
  EXPECT_NE(parse_error("model: mlp\n...\nmodel: lenet5\n").find("test.yaml:3: a second YAML document"), std::string::npos);
}

// The sampling design's keys are checked together: stratification needs
// importance sampling, a budget, no stopping rule and a pilot below the
// budget; a stopping rule needs a budget.
TEST(Config, SamplingDesignCombinations) {
  EXPECT_NE(parse_error("campaign:\n  sampler: uniform\n  stratify: true\n").find("campaign.sampler: importance"), std::string::npos);
  EXPECT_NE(parse_error("campaign:\n  faults: all\n  stratify: true\n").find("exhaustive"), std::string::npos);
  EXPECT_NE(parse_error("campaign:\n  stratify: true\n  until_critical: 3\n").find("stopping rule"), std::string::npos);
  EXPECT_NE(parse_error("campaign:\n  faults: 100\n  stratify: true\n  pilot: 100\n").find("campaign.pilot"), std::string::npos);
  EXPECT_NE(parse_error("campaign:\n  faults: all\n  target_margin: 0.1\n").find("exhaustive"), std::string::npos);
  EXPECT_NE(parse_error("campaign:\n  target_margin: 2\n").find("target_margin"), std::string::npos);
  const Config c = parse_config("campaign:\n  stratify: true\n  pilot: 50\n  target_margin: 0\n", "t.yaml");
  EXPECT_TRUE(c.campaign.stratify);
  EXPECT_EQ(c.campaign.pilot, 50);
  // Written and read back the same.
  EXPECT_EQ(parse_config(to_yaml(c), "round.yaml").campaign, c.campaign);
}

TEST(Config, FractionalIntegerIsRejected) {
  EXPECT_EQ(parse_error("array:\n  rows: 16.5\n"), "test.yaml:2: array.rows: expected an integer in 1..256, got \"16.5\"");
}

TEST(Config, OutOfRangeNamesTheRange) {
  EXPECT_EQ(parse_error("array:\n  cols: 300\n"), "test.yaml:2: array.cols: expected an integer in 1..256, got \"300\"");
  EXPECT_EQ(parse_error("campaign:\n  epsilon: 0\n"),
            "test.yaml:2: campaign.epsilon: expected a number in [1e-09, 1], got \"0\"");
}

TEST(Config, BadEnumListsTheChoices) {
  EXPECT_EQ(parse_error("array:\n  timing: fast\n"),
            "test.yaml:2: array.timing: expected one of scalesim, double_buffered, got \"fast\"");
}

TEST(Config, BadListItemIsNamed) {
  const std::string msg = parse_error("campaign:\n  groups: [pe_a, pe_x]\n");
  EXPECT_EQ(msg.rfind("test.yaml:2: campaign.groups: item 2: expected one of pe_a,", 0), 0u) << msg;
  EXPECT_NE(msg.find("got \"pe_x\""), std::string::npos) << msg;
}

TEST(Config, UnknownKeyIsRejectedWithSuggestion) {
  EXPECT_EQ(parse_error("array:\n  rows: 4\n  colums: 4\n"), "test.yaml:3: array.colums: unknown key (did you mean 'cols'?)");
  const std::string msg = parse_error("model: mlp\nbogus_section: 1\n");
  EXPECT_EQ(msg.rfind("test.yaml:2: bogus_section: unknown key (known keys here:", 0), 0u) << msg;
}

TEST(Config, DuplicateKeyIsRejected) {
  EXPECT_EQ(parse_error("array:\n  rows: 4\n  rows: 8\n"), "test.yaml:2: array.rows: duplicate key");
}

TEST(Config, SectionOfWrongTypeIsRejected) {
  EXPECT_EQ(parse_error("array: 16\n"), "test.yaml:1: array: expected a mapping, got \"16\"");
}

TEST(Config, MissingFileIsNamed) {
  EXPECT_EQ(config_error([] { load_config("/nonexistent/x.yaml"); }),
            "/nonexistent/x.yaml: cannot open a configuration file: no such file");
}

TEST(Config, MalformedYamlGivesLine) {
  const std::string msg = parse_error("array:\n  rows: [1, 2\n  cols: 3\n");
  EXPECT_EQ(msg.rfind("test.yaml:", 0), 0u) << msg;
  EXPECT_NE(msg.find("malformed YAML"), std::string::npos) << msg;
}

TEST(Config, EmptyFileIsRejected) {
  EXPECT_EQ(parse_error("").rfind("test.yaml: the configuration is empty", 0), 0u);
  EXPECT_EQ(parse_error("# only a comment\n").rfind("test.yaml: the configuration is empty", 0), 0u);
}

TEST(Config, TopLevelListIsRejected) {
  EXPECT_EQ(parse_error("- a\n- b\n"), "test.yaml:1: expected a mapping at the top level");
}

TEST(Config, BadImageRange) {
  EXPECT_EQ(parse_error("dataset:\n  images: \"10:5\"\n"),
            "test.yaml:2: dataset.images: expected an image range begin:end with 0 <= begin < end, got \"10:5\"");
}

TEST(Config, OverridesApplyInOrderAndCreateSections) {
  const Config c = parse_config("array:\n  rows: 4\n", "test.yaml",
                                {"array.rows=32", "array.buffers.banks=8", "campaign.groups=[pe_psum, accumulator]",
                                 "array.rows=64"});
  EXPECT_EQ(c.array.rows, 64);
  EXPECT_EQ(c.array.buffers.banks, 8);
  EXPECT_EQ(c.campaign.groups, (std::vector<std::string>{"pe_psum", "accumulator"}));
}

TEST(Config, BadOverrideNamesTheOverride) {
  EXPECT_EQ(parse_error("model: mlp\n", {"array.rows=sixteen"}),
            "-p array.rows=sixteen: array.rows: expected an integer in 1..256, got \"sixteen\"");
  EXPECT_EQ(parse_error("model: mlp\n", {"array.colls=3"}),
            "-p array.colls=3: array.colls: unknown key (did you mean 'cols'?)");
  EXPECT_EQ(parse_error("model: mlp\n", {"array.rows"}), "-p array.rows: expected key.path=value");
  EXPECT_EQ(parse_error("model: mlp\n", {"model.rows=3"}),
            "-p model.rows=3: model: is not a section, cannot set 'model.rows' inside it");
}

TEST(Config, ResolvedYamlRoundTrips) {
  Config c = parse_config("model: mlp\n", "test.yaml",
                          {"array.timing=double_buffered", "campaign.epsilon=0.37", "array.dram_bytes_per_cycle=12.5",
                           "campaign.seed=18446744073709551"});
  const Config back = parse_config(to_yaml(c), "resolved.yaml");
  EXPECT_EQ(back, c);
  EXPECT_FALSE(back == Config());
}

TEST(Config, ResolvedConfigIsWrittenNextToResults) {
  const auto dir = isimdl::test_dir() / "isimdl_test_resolved";
  std::filesystem::remove_all(dir);
  const Config c = parse_config("model: cnn-small\n", "test.yaml");
  const std::string path = write_resolved_config(c, dir.string());
  EXPECT_EQ(load_config(path), c);
}

}  // namespace
}  // namespace isimdl
