#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/test_dir.h"
#include "models/error.h"
#include "models/idx_reader.h"

namespace isimdl {
namespace {

const std::string kData = ISIMDL_TEST_DATA;

std::string temp_path(const std::string& name) {
  return (isimdl::test_dir() / ("isimdl_test_" + name)).string();
}

void write_bytes(const std::string& path, const std::vector<unsigned char>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const FormatError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(IdxReader, ReadsCommittedMnistSubset) {
  const MnistSplit split = load_mnist(kData, "t10k");
  ASSERT_EQ(split.images.count, 1000);
  EXPECT_EQ(split.images.rows, 28);
  EXPECT_EQ(split.images.cols, 28);
  ASSERT_EQ(split.labels.size(), 1000u);
  // The first MNIST test digits are 7, 2, 1, 0, 4, 1, 4, 9, 5, 9.
  const std::vector<std::uint8_t> first{7, 2, 1, 0, 4, 1, 4, 9, 5, 9};
  EXPECT_EQ(std::vector<std::uint8_t>(split.labels.begin(), split.labels.begin() + 10), first);
  // Borders of MNIST digits are blank; the centre of the first "7" is not.
  EXPECT_EQ(split.images.image(0)[0], 0);
  int ink = 0;
  for (int i = 0; i < 784; ++i) ink += split.images.image(0)[i] > 128;
  EXPECT_GT(ink, 50);
}

TEST(IdxReader, MissingFileNamesTheFile) {
  const std::string msg = error_of([] { read_idx_images("/nonexistent/images.idx"); });
  EXPECT_NE(msg.find("/nonexistent/images.idx"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cannot open"), std::string::npos) << msg;
}

TEST(IdxReader, MissingMnistDirectorySaysHowToFetch) {
  const std::string msg = error_of([] { load_mnist("/nonexistent", "t10k"); });
  EXPECT_NE(msg.find("scripts/setup"), std::string::npos) << msg;
}

TEST(IdxReader, WrongMagicIsRejected) {
  const std::string path = temp_path("wrong_magic");
  write_bytes(path, {0, 0, 8, 1, 0, 0, 0, 1, 5});  // a label file read as images
  const std::string msg = error_of([&] { read_idx_images(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("magic"), std::string::npos) << msg;
}

TEST(IdxReader, TruncatedDataIsRejected) {
  const std::string path = temp_path("truncated");
  // Header promises 2 images of 2x2 = 8 bytes, only 5 follow.
  write_bytes(path, {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5});
  const std::string msg = error_of([&] { read_idx_images(path); });
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
}

TEST(IdxReader, TruncatedHeaderIsRejected) {
  const std::string path = temp_path("short_header");
  write_bytes(path, {0, 0, 8});
  EXPECT_NE(error_of([&] { read_idx_labels(path); }).find("header"), std::string::npos);
}

TEST(IdxReader, OutOfRangeLabelIsRejected) {
  const std::string path = temp_path("bad_label");
  write_bytes(path, {0, 0, 8, 1, 0, 0, 0, 2, 3, 12});
  const std::string msg = error_of([&] { read_idx_labels(path); });
  EXPECT_NE(msg.find("label 1 is 12"), std::string::npos) << msg;
}

TEST(IdxReader, CorruptGzipIsRejected) {
  const std::string path = temp_path("corrupt.gz");
  std::ifstream in(kData + "/t10k-labels-idx1-ubyte.gz", std::ios::binary);
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  bytes.resize(bytes.size() / 2);
  write_bytes(path, bytes);
  EXPECT_NE(error_of([&] { read_idx_labels(path); }), "(no error)");
}

}  // namespace
}  // namespace isimdl
