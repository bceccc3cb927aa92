#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "tests/test_dir.h"
#include "model_fixtures.h"
#include "models/error.h"
#include "models/model_file.h"
#include "models/reference_engine.h"

namespace isimdl {
namespace {

using testing_fixtures::every_layer_architecture;
using testing_fixtures::mnist_subset;
using testing_fixtures::quantized_random_model;

std::string temp(const std::string& name) { return (isimdl::test_dir() / ("isimdl_" + name)).string(); }

std::vector<char> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
void write_all(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
// Rewrites the CRC so that a deliberately inconsistent payload gets past the checksum.
void fix_checksum(std::vector<char>& bytes) {
  const auto crc = static_cast<std::uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(bytes.data() + 24), static_cast<uInt>(bytes.size() - 24)));
  std::memcpy(bytes.data() + 20, &crc, 4);
}
std::string load_error(const std::string& path) {
  try {
    load_model(path);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "(no error)";
}

class ModelFile : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = quantized_random_model(every_layer_architecture(), 41);
    path_ = temp("model_file_test.isq");
    save_model(model_, path_);
    bytes_ = read_all(path_);
  }
  QuantizedModel model_;
  std::string path_;
  std::vector<char> bytes_;
};

TEST(ModelFileFormat, ModernLayersRoundTrip) {
  const QuantizedModel model = quantized_random_model(testing_fixtures::modern_layer_architecture(), 42);
  const std::string path = temp("modern.isq");
  save_model(model, path);
  const QuantizedModel back = load_model(path);
  EXPECT_EQ(back.arch.describe(), model.arch.describe());
  for (int i = 0; i < model.arch.size(); ++i) EXPECT_EQ(back.arch.layer(i), model.arch.layer(i)) << "layer " << i;
  ReferenceEngine a(model), b(back);
  InferenceTrace ta, tb;
  for (int i = 0; i < 3; ++i) {
    a.run(mnist_subset().images.image(i), ta);
    b.run(mnist_subset().images.image(i), tb);
    EXPECT_EQ(ta.out, tb.out);
  }
}

TEST_F(ModelFile, RoundTripGivesIdenticalInference) {
  const QuantizedModel back = load_model(path_);
  EXPECT_EQ(back.arch.describe(), model_.arch.describe());
  ReferenceEngine a(model_), b(back);
  InferenceTrace ta, tb;
  for (int i = 0; i < 5; ++i) {
    a.run(mnist_subset().images.image(i), ta);
    b.run(mnist_subset().images.image(i), tb);
    EXPECT_EQ(ta.out, tb.out);
    EXPECT_EQ(ta.acc, tb.acc);
  }
  ASSERT_EQ(back.float_params.size(), model_.float_params.size());
  EXPECT_EQ(back.float_params[0].weight, model_.float_params[0].weight);
}

TEST_F(ModelFile, MissingFile) {
  EXPECT_EQ(load_error("/nonexistent/m.isq"), "/nonexistent/m.isq: cannot open an isimdl model file: no such file");
}

TEST_F(ModelFile, WrongMagic) {
  bytes_[0] = 'X';
  write_all(path_, bytes_);
  EXPECT_EQ(load_error(path_), path_ + ": not an isimdl model file (wrong magic number)");
}

TEST_F(ModelFile, WrongVersion) {
  bytes_[8] = 7;
  write_all(path_, bytes_);
  EXPECT_EQ(load_error(path_), path_ + ": model file version 7 is not supported (this isimdl reads version 1)");
}

TEST_F(ModelFile, Truncated) {
  for (std::size_t keep : {std::size_t{4}, std::size_t{15}, bytes_.size() / 2, bytes_.size() - 1}) {
    write_all(path_, std::vector<char>(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(keep)));
    const std::string msg = load_error(path_);
    EXPECT_EQ(msg.rfind(path_ + ": ", 0), 0u) << msg;
    EXPECT_TRUE(msg.find("truncated") != std::string::npos || msg.find("magic") != std::string::npos) << msg;
  }
}

TEST_F(ModelFile, ChecksumMismatch) {
  bytes_[bytes_.size() - 3] ^= 0x10;
  write_all(path_, bytes_);
  EXPECT_NE(load_error(path_).find("checksum mismatch"), std::string::npos);
}

TEST_F(ModelFile, ShapeMismatchWithValidChecksum) {
  // Change "cout=4" of the first conv in the architecture text to "cout=5":
  // the stored weights no longer fit.
  std::string text(bytes_.begin(), bytes_.end());
  const auto at = text.find("cout=4");
  ASSERT_NE(at, std::string::npos);
  bytes_[at + 5] = '5';
  fix_checksum(bytes_);
  write_all(path_, bytes_);
  const std::string msg = load_error(path_);
  EXPECT_EQ(msg.rfind(path_ + ": ", 0), 0u) << msg;
  EXPECT_TRUE(msg.find("in_channels") != std::string::npos || msg.find("the architecture needs") != std::string::npos)
      << msg;
}

TEST_F(ModelFile, GarbageArchitectureWithValidChecksum) {
  std::string text(bytes_.begin(), bytes_.end());
  const auto at = text.find("conv2d");
  bytes_[at] = 'k';
  fix_checksum(bytes_);
  write_all(path_, bytes_);
  EXPECT_NE(load_error(path_).find("unknown layer kind 'konv2d'"), std::string::npos) << load_error(path_);
}

TEST_F(ModelFile, ZooModelsLoadWhenPresent) {
  for (const auto& name : zoo_names()) {
    const std::string path = resolve_model_path(name, default_zoo_dir());
    if (!std::filesystem::exists(path)) continue;
    const QuantizedModel m = load_model(path);
    if (zoo_trained_by_isimdl(name)) {
      EXPECT_EQ(m.arch.describe(), zoo_architecture(name).describe()) << name;
    }
  }
}

}  // namespace
}  // namespace isimdl
