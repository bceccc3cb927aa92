#include <gtest/gtest.h>
#include <sys/wait.h>

#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "tests/test_dir.h"
#include "models/error.h"
#include "models/trainer.h"
#include "models/quantized_model.h"
#include "models/idx_reader.h"
#include "models/npy.h"
#include "models/model_file.h"
#include "models/zoo.h"
#include "cli/cli.h"
#include "runner/topology.h"
#include "config/config.h"
#include "campaign/progress.h"

namespace isimdl {
namespace {

const std::string kSource = ISIMDL_SOURCE_DIR;

struct CliRun {
  int code = -1;
  std::string out;
  std::string error;  // message of the exception, if any
};

CliRun run(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  CliStreams io{out, err};
  CliRun result;
  try {
    result.code = run_cli(args, io);
  } catch (const UsageError& e) {
    result.code = kExitUsage;
    result.error = e.what();
  } catch (const Error& e) {
    result.code = kExitError;
    result.error = e.what();
  }
  result.out = out.str();
  return result;
}

TEST(Cli, TopLevelHelpListsCommands) {
  const CliRun r = run({"--help"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_NE(r.out.find("config"), std::string::npos);
  EXPECT_NE(r.out.find("run"), std::string::npos);
}

TEST(Cli, HelpAtEveryLevel) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"config", "--help"}, {"config", "check", "--help"}, {"run", "--help"}}) {
    const CliRun r = run(args);
    EXPECT_EQ(r.code, kExitOk) << args.front();
    EXPECT_NE(r.out.find("Usage: isimdl"), std::string::npos) << r.out;
  }
}

TEST(Cli, VersionNamesSystemC) {
  const CliRun r = run({"--version"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_NE(r.out.find("SystemC 2.3"), std::string::npos) << r.out;
}

TEST(Cli, UnknownCommandIsUsageErrorNamingIt) {
  const CliRun r = run({"frobnicate"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.error.find("unknown command 'frobnicate'"), std::string::npos) << r.error;
  const CliRun nested = run({"config", "lint"});
  EXPECT_EQ(nested.code, kExitUsage);
  EXPECT_NE(nested.error.find("isimdl config: unknown command 'lint'"), std::string::npos) << nested.error;
}

TEST(Cli, UnknownOptionIsUsageErrorNamingIt) {
  const CliRun r = run({"config", "check", "x.yaml", "--bogus"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.error.find("--bogus"), std::string::npos) << r.error;
  EXPECT_EQ(run({"--bogus"}).code, kExitUsage);
}

TEST(Cli, MissingArgumentIsUsageError) { EXPECT_EQ(run({"config", "check"}).code, kExitUsage); }

TEST(Cli, ConfigCheckAcceptsDefault) {
  const CliRun r = run({"config", "check", kSource + "/configs/default.yaml"});
  EXPECT_EQ(r.code, kExitOk) << r.error;
  EXPECT_NE(r.out.find(": OK"), std::string::npos);
}

TEST(Cli, ConfigCheckReportsBadOverride) {
  const CliRun r = run({"config", "check", kSource + "/configs/default.yaml", "-p", "array.rows=0"});
  EXPECT_EQ(r.code, kExitError);
  EXPECT_EQ(r.error, "-p array.rows=0: array.rows: expected an integer in 1..256, got \"0\"");
}

TEST(Cli, ConfigCheckPrintIsReadableAgain) {
  const CliRun r = run({"config", "check", kSource + "/configs/default.yaml", "--print", "-p", "array.cols=8"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_NE(r.out.find("cols: 8"), std::string::npos) << r.out;
}

// The same MNIST images as a float32 .npy (pixel / 255, N x H x W) and the
// labels as int64: infer gives the same int8 accuracy as from the IDX files
// (the input quantization of pixel / 255 is exact), and without labels the
// model agrees with itself on every image.
TEST(Cli, InferOnNpyInputsEqualsIdx) {
  const MnistSplit data = load_mnist(kSource + "/tests/data", "t10k");
  const int n = 64;
  std::vector<float> x(static_cast<std::size_t>(n) * 784);
  for (std::size_t e = 0; e < x.size(); ++e) x[e] = static_cast<float>(data.images.pixels[e]) / 255.0f;
  const std::string images = (test_dir() / "x.npy").string(), labels = (test_dir() / "y.npy").string();
  write_npy_float32(images, {n, 28, 28}, x);
  std::vector<float> y(data.labels.begin(), data.labels.begin() + n);
  write_npy_float32(labels, {n}, y);
  const CliRun idx = run({"infer", "--model", "lenet5", "--data", kSource + "/tests/data", "--images", "0:64"});
  const CliRun npy = run({"infer", "--model", "lenet5", "--inputs", images, "--labels", labels, "--images", "0:64"});
  ASSERT_EQ(idx.code, kExitOk) << idx.error;
  ASSERT_EQ(npy.code, kExitOk) << npy.error;
  auto accuracy_line = [](const std::string& out) { return out.substr(out.find("int8 accuracy"), out.find(" in ", out.find("int8 accuracy")) - out.find("int8 accuracy")); };
  EXPECT_EQ(accuracy_line(idx.out), accuracy_line(npy.out));
  const CliRun self = run({"infer", "--model", "lenet5", "--inputs", images, "--images", "0:64"});
  ASSERT_EQ(self.code, kExitOk) << self.error;
  EXPECT_NE(self.out.find("int8 accuracy 100.00% (64 / 64)"), std::string::npos) << self.out;
  // Per-image outputs: logits as images x classes, predictions whose top-1 is the logits' arg-max.
  const std::string outputs = (test_dir() / "out" / "logits.npy").string(), predictions = (test_dir() / "out" / "p.csv").string();
  const CliRun per_image = run({"infer", "--model", "lenet5", "--data", kSource + "/tests/data", "--images", "3:13", "--outputs",
                                outputs, "--predictions", predictions});
  ASSERT_EQ(per_image.code, kExitOk) << per_image.error;
  const NpyArray logits = read_npy(outputs);
  ASSERT_EQ(logits.shape, (std::vector<std::int64_t>{10, 10}));
  std::ifstream csv(predictions);
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "image,label,predicted,top5");
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(std::getline(csv, line));
    std::vector<std::string> fields;
    std::stringstream row(line);
    for (std::string f; std::getline(row, f, ',');) fields.push_back(f);
    ASSERT_EQ(fields.size(), 4u) << line;
    EXPECT_EQ(std::stoi(fields[0]), 3 + i);
    EXPECT_EQ(std::stoi(fields[1]), data.labels[static_cast<std::size_t>(3 + i)]);
    const auto row_begin = logits.values.begin() + i * 10;
    EXPECT_EQ(std::stoi(fields[2]), std::max_element(row_begin, row_begin + 10) - row_begin) << line;
    EXPECT_EQ(fields[3].substr(0, fields[2].size()), fields[2]);
  }
  // A model whose input is not the images' shape is refused before any work.
  const CliRun wrong = run({"infer", "--model", kSource + "/tests/data/onnx/resnet_tiny.onnx", "--inputs", images, "--mean", "0,0"});
  EXPECT_EQ(wrong.code, kExitError);
  EXPECT_NE(wrong.error.find("dataset.mean: 2 values for images of 1 channels"), std::string::npos) << wrong.error;
}

// Images or models that do not fit each other are refused before any work,
// never read out of bounds (found when isimdl was tried as a new user would).
TEST(Cli, MismatchedImagesAndModelsAreRefused) {
  // An IDX file of 2x2 images.
  const std::string dir = (test_dir() / "tiny-idx").string();
  std::filesystem::create_directories(dir);
  {
    std::ofstream images(dir + "/t10k-images-idx3-ubyte", std::ios::binary), labels(dir + "/t10k-labels-idx1-ubyte", std::ios::binary);
    const unsigned char image_header[] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2};
    const unsigned char label_header[] = {0, 0, 8, 1, 0, 0, 0, 3};
    images.write(reinterpret_cast<const char*>(image_header), sizeof image_header);
    images << std::string(12, '\x40');
    labels.write(reinterpret_cast<const char*>(label_header), sizeof label_header);
    labels << std::string("\x01\x02\x03", 3);
  }
  CliRun r = run({"infer", "--model", "lenet5", "--data", dir, "--images", "0:3"});
  EXPECT_EQ(r.code, kExitError);
  EXPECT_NE(r.error.find("the model takes 1x28x28 inputs, the images of mnist in " + dir + " are 1x2x2"), std::string::npos) << r.error;
  // A model of 29x29 inputs on MNIST.
  LayerSpec flatten, fc;
  flatten.kind = LayerKind::kFlatten;
  fc.kind = LayerKind::kLinear, fc.in_features = 29 * 29, fc.out_features = 10;
  const Architecture arch("wide", Shape{1, 29, 29}, {flatten, fc});
  FloatNetwork net(arch);
  net.initialize(1);
  CalibrationRanges ranges{std::vector<float>(2, -1.0f), std::vector<float>(2, 1.0f)};
  const std::string model = (test_dir() / "wide.isq").string();
  save_model(quantize_network(net, make_fake_quantization(arch, ranges, mnist_input_qparams())), model);
  r = run({"infer", "--model", model, "--data", kSource + "/tests/data", "--images", "0:3"});
  EXPECT_EQ(r.code, kExitError);
  EXPECT_NE(r.error.find("the model takes 1x29x29 inputs"), std::string::npos) << r.error;
  // A misspelt zoo name lists the zoo.
  r = run({"infer", "--model", "lenet", "--images", "0:3"});
  EXPECT_NE(r.error.find("not a zoo model (zoo: lenet5, cnn-small, mlp, resnet8, mobilenet-tiny)"), std::string::npos) << r.error;
  // A huge input shape is refused by the architecture, before any allocation.
  EXPECT_THROW(Architecture("huge", Shape{1, 536870940, 536870940}, {flatten}), Error);
}

// The whole chain on imported networks (a residual one and a depthwise one),
// on unlabelled .npy images (labels = the models' golden predictions):
// campaign with importance sampling, explain-fault, sensitivity,
// find-critical, fault-accuracy, fat, export and a report.
TEST(Cli, WholeChainOnImportedNetworks) {
  const MnistSplit data = load_mnist(kSource + "/tests/data", "t10k");
  const std::string dir = test_dir().string() + "/chain";
  std::filesystem::create_directories(dir);
  std::vector<float> x(static_cast<std::size_t>(16) * 784);
  for (std::size_t e = 0; e < x.size(); ++e) x[e] = static_cast<float>(data.images.pixels[e]) / 255.0f;
  write_npy_float32(dir + "/x.npy", {16, 1, 28, 28}, x);
  const std::string bin = std::string(ISIMDL_BINARY);
  const std::string npy =
      " -c " + kSource + "/configs/default.yaml -p dataset.format=npy -p dataset.images=0:8 -p dataset.inputs=" + dir + "/x.npy";
  auto sh = [&](const std::string& args, const std::string& stdout_file = "") {
    const std::string command =
        bin + " " + args + (stdout_file.empty() ? " >> " + dir + "/log" : " > " + stdout_file) + " 2>> " + dir + "/log";
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  for (const std::string name : {"resnet_tiny", "mobilenet_tiny"}) {
    const std::string model = " -p model=" + kSource + "/tests/data/onnx/" + name + ".onnx";
    const std::string out = dir + "/" + name;
    const std::string campaign = "campaign -q" + model + npy + " -p campaign.faults=20 -p array.rows=8 -p array.cols=8 "
                                 "-p output.dir=" + out + "/results/campaign";
    ASSERT_EQ(sh(campaign), 0) << name;
    EXPECT_TRUE(std::filesystem::exists(out + "/results/campaign/campaign.sqlite")) << name;
    ASSERT_EQ(sh(campaign + " --emit-fault-list " + out + "/faults.tsv"), 0) << name;
    // The same campaign with the options instead of -p keys gives the same rows.
    ASSERT_EQ(sh("campaign -q -c " + kSource + "/configs/default.yaml --model " + kSource + "/tests/data/onnx/" + name +
                 ".onnx --inputs " + dir + "/x.npy --images 0:8 -p campaign.faults=20 -p array.rows=8 -p array.cols=8 "
                 "-p output.dir=" + out + "/options"), 0) << name;
    ASSERT_EQ(sh("results export " + out + "/results/campaign/campaign.sqlite --format csv", out + "/a.csv"), 0);
    ASSERT_EQ(sh("results export " + out + "/options/campaign.sqlite --format csv", out + "/b.csv"), 0);
    std::ifstream a(out + "/a.csv"), b(out + "/b.csv");
    const std::string rows_a((std::istreambuf_iterator<char>(a)), std::istreambuf_iterator<char>());
    const std::string rows_b((std::istreambuf_iterator<char>(b)), std::istreambuf_iterator<char>());
    EXPECT_EQ(rows_a, rows_b) << name;
    EXPECT_GT(rows_a.size(), 100u) << name;
    ASSERT_EQ(sh("explain-fault" + model + npy + " -p array.rows=8 -p array.cols=8 --fault-list " + out + "/faults.tsv --row 1"), 0)
        << name;
    ASSERT_EQ(sh("sensitivity --model " + kSource + "/tests/data/onnx/" + name + ".onnx --inputs " + dir +
                 "/x.npy --images 0:8 --out " + out + "/sens.csv"), 0) << name;
    ASSERT_EQ(sh("find-critical" + model + npy + " --images 0:8 --drop 0.05 --count 2 --out " + out + "/critical.tsv"), 0) << name;
    ASSERT_EQ(sh("fault-accuracy" + model + npy + " --images 0:8 --fault-list " + out + "/critical.tsv"), 0) << name;
    ASSERT_EQ(sh("fat" + model + npy + " --faults " + out + "/critical.tsv --epochs 1 --out " + out + "/hard.isq"), 0)
        << name;
    ASSERT_EQ(sh("export " + out + "/hard.isq --out " + out + "/hard.onnx"), 0) << name;
    ASSERT_EQ(sh("infer --model " + out + "/hard.onnx --inputs " + dir + "/x.npy --images 0:16"), 0) << name;
    ASSERT_EQ(sh("report " + out + "/results --out " + out + "/report"), 0) << name;
    EXPECT_TRUE(std::filesystem::exists(out + "/report/index.html")) << name;
  }
}

// results summary/export read a campaign without writing to it, and refuse
// what is not one (an empty file used to get the tables created in it).
TEST(Cli, ResultsCommandsRefuseWhatIsNotACampaign) {
  const std::string empty = (test_dir() / "empty.sqlite").string(), text = (test_dir() / "text.sqlite").string();
  std::ofstream(empty).close();
  std::ofstream(text) << "not a database\n";
  for (const std::string command : {"summary", "export"}) {
    CliRun r = run({"results", command, empty});
    EXPECT_EQ(r.code, kExitError);
    EXPECT_NE(r.error.find("not an isimdl campaign results file"), std::string::npos) << r.error;
    EXPECT_EQ(std::filesystem::file_size(empty), 0u);
    r = run({"results", command, text});
    EXPECT_NE(r.error.find("not an SQLite database"), std::string::npos) << r.error;
    r = run({"results", command, (test_dir() / "missing.sqlite").string()});
    EXPECT_NE(r.error.find("no such results file"), std::string::npos) << r.error;
  }
}

// The Fashion-MNIST zoo models read their own dataset by default (no
// --dataset given) and classify it (docs/models.md: 92.70% and 90.77% on all
// 10,000 test images; here the first 300).
TEST(Cli, FashionZooModelsUseTheirDataset) {
  for (const auto& [name, least] : std::vector<std::pair<std::string, double>>{{"resnet8", 88.0}, {"mobilenet-tiny", 86.0}}) {
    const CliRun r = run({"infer", "--model", name, "--images", "0:300", "--data", kSource + "/.cache/fashion-mnist"});
    ASSERT_EQ(r.code, kExitOk) << r.error;
    const auto at = r.out.find("int8 accuracy ");
    ASSERT_NE(at, std::string::npos) << r.out;
    EXPECT_GE(std::stod(r.out.substr(at + 14)), least) << name << ": " << r.out.substr(at, 40);
  }
}

// Inputs that used to be accepted, or grew memory without end (found when
// isimdl was tried as a new user would).
TEST(Cli, DevicesDirectoriesAndSecondDocumentsAreRefused) {
  CliRun r = run({"config", "check", "/dev/zero"});
  EXPECT_NE(r.error.find("/dev/zero: is not a regular file, not a configuration file"), std::string::npos) << r.error;
  r = run({"infer", "--model", "/dev/zero"});
  EXPECT_NE(r.error.find("/dev/zero: is not a regular file, not an isimdl model file"), std::string::npos) << r.error;
  r = run({"infer", "--model", kSource + "/models"});
  EXPECT_NE(r.error.find("is a directory, not a model file"), std::string::npos) << r.error;
  r = run({"config", "check", kSource + "/configs"});
  EXPECT_NE(r.error.find("is a directory, not a configuration file"), std::string::npos) << r.error;
  const std::string two = (test_dir() / "two.yaml").string();
  std::ofstream(two) << "model: lenet5\n---\nmodel: mlp\n";
  r = run({"config", "check", two});
  EXPECT_NE(r.error.find("a second YAML document begins here"), std::string::npos) << r.error;
  r = run({"campaign", "--jobs", "100000"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.error.find("--jobs: expected 1..256"), std::string::npos) << r.error;
  for (const char* timeout : {"-1", "nan", "0"}) {
    r = run({"campaign", "--fault-timeout", timeout});
    EXPECT_NE(r.error.find("--fault-timeout: expected a positive number"), std::string::npos) << timeout << ": " << r.error;
  }
}

// The real binary: main() is the only place that maps exceptions to exit codes.
int exit_code_of(const std::string& args) {
  const std::string command = std::string(ISIMDL_BINARY) + " " + args + " >/dev/null 2>&1";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// explain-fault: a bad fault names what is wrong; a good one is explained
// and checked against the cycle-level model.
// Unclear messages, made clear: deep YAML nesting, a huge topology layer, a
// one-field topology header, an image range blamed on the file that did not
// set it.
TEST(Cli, MessagesNameWhatIsWrong) {
  const std::string deep = (test_dir() / "deep.yaml").string();
  std::ofstream(deep) << "a: " << std::string(5000, '[') << std::string(5000, ']') << "\n";
  CliRun r = run({"config", "check", deep});
  EXPECT_EQ(r.code, kExitError);
  EXPECT_NE(r.error.find("YAML nested too deeply"), std::string::npos) << r.error;

  const std::string huge = (test_dir() / "huge.csv").string();
  std::ofstream(huge) << "Layer, h, w, fh, fw, c, f, s,\nbig, 100000, 100000, 3, 3, 100000, 100000, 1,\n";
  const std::string config = kSource + "/configs/default.yaml";
  r = run({"run", "--config", config, "--topology", huge, "-p", "output.dir=" + (test_dir() / "huge").string()});
  EXPECT_EQ(r.code, kExitError);
  EXPECT_NE(r.error.find(huge + ":2: layer big: its ifmap has more than 1073741824 elements"), std::string::npos) << r.error;
  const std::string one_field = (test_dir() / "one_field.csv").string();
  std::ofstream(one_field) << "Layer\n";
  r = run({"run", "--config", config, "--topology", one_field, "-p", "output.dir=" + (test_dir() / "one").string()});
  EXPECT_EQ(r.code, kExitError);
  EXPECT_NE(r.error.find(one_field + ":1: expected 8 or 9 fields"), std::string::npos) << r.error;

  r = run({"run", "--config", config, "--images", "10000:10001", "-p", "dataset.dir=" + kSource + "/tests/data"});
  EXPECT_NE(r.error.find("range 10000:10001 (from the command line) exceeds"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find("default.yaml"), std::string::npos) << r.error;
}

// The progress line of long commands: rate and ETA when enabled (on a
// terminal, without -q), nothing otherwise; the last update always shows.
TEST(Cli, ProgressLineShowsRateAndEtaOnlyWhenEnabled) {
  std::ostringstream shown, hidden;
  {
    Progress on(shown, "faults evaluated", 4, true), off(hidden, "faults evaluated", 4, false);
    for (int i = 1; i <= 4; ++i) on.update(i), off.update(i);
  }
  EXPECT_EQ(hidden.str(), "");
  EXPECT_NE(shown.str().find("\rfaults evaluated: 1 / 4 (25%), "), std::string::npos) << shown.str();
  EXPECT_NE(shown.str().find("ETA "), std::string::npos) << shown.str();
  EXPECT_NE(shown.str().find("faults evaluated: 4 / 4 (100%)"), std::string::npos) << shown.str();
  EXPECT_EQ(shown.str().back(), '\n');  // finished by the destructor
}

TEST(Cli, ExplainFault) {
  const std::string config = kSource + "/configs/default.yaml";
  const std::string data = "dataset.dir=" + kSource + "/.cache/mnist";
  CliRun r = run({"explain-fault", "-c", config, "-p", data, "--fault", "layer=0 cycle=5 index=3 bit=2"});
  EXPECT_EQ(r.code, kExitError);
  EXPECT_NE(r.error.find("missing group="), std::string::npos) << r.error;
  r = run({"explain-fault", "-c", config, "-p", data, "--fault", "layer=0 cycle=5 group=pe_w0 index=3 bit=2 colour=red"});
  EXPECT_NE(r.error.find("unknown key \"colour\""), std::string::npos) << r.error;
  r = run({"explain-fault", "-c", config, "-p", data, "--fault", "layer=1 cycle=5 group=pe_w0 index=3 bit=2"});
  EXPECT_NE(r.error.find("not a layer that runs on the array"), std::string::npos) << r.error;
  r = run({"explain-fault", "-c", config, "-p", data, "--fault", "layer=0 cycle=99999 group=pe_w0 index=3 bit=2"});
  EXPECT_NE(r.error.find("outside the layer's run"), std::string::npos) << r.error;
  r = run({"explain-fault", "-c", config, "-p", data, "--fault", "layer=0 cycle=300 group=pe_w0 index=19 bit=7"});
  ASSERT_EQ(r.code, kExitOk) << r.error;
  EXPECT_NE(r.out.find("weight w[3][0][0][1] reads"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("identical to the equivalent's"), std::string::npos) << r.out;
}

TEST(Cli, FindCriticalChecksItsOptions) {
  const std::string config = kSource + "/configs/default.yaml";
  EXPECT_EQ(run({"find-critical", "-c", config, "--drop", "1.5"}).code, kExitError);
  EXPECT_EQ(run({"find-critical", "-c", config, "--count", "0"}).code, kExitError);
  EXPECT_EQ(run({"sweep", "-c", config, "--rows", "4,x"}).code, kExitUsage);
  EXPECT_EQ(run({"trace-diff", "/nonexistent/a.csv", "/nonexistent/b.csv"}).code, kExitError);
}

TEST(CliBinary, ExitCodes) {
  EXPECT_EQ(exit_code_of("--version"), 0);
  EXPECT_EQ(exit_code_of("--help"), 0);
  EXPECT_EQ(exit_code_of("nonsense"), 2);
  EXPECT_EQ(exit_code_of("config check --bogus"), 2);
  EXPECT_EQ(exit_code_of("config check /nonexistent.yaml"), 1);
}

}  // namespace
}  // namespace isimdl

namespace isimdl {
namespace {

// The CSV trace names registers as docs/traces.md says and shows the weights
// of the model file in the PEs after the first fold's latch: lenet5's last
// layer (fc3: K = 84, N = 10) on the default 16x16 array, fold 0 holds
// W[n = c][k = r], latched at schedule cycle R - 1 = 15, which the array
// executes at layer-relative edge 16.
TEST(CliBinary, CsvTraceShowsModelWeightsInThePes) {
  const std::string dir = (isimdl::test_dir() / "isimdl_trace_test").string();
  std::filesystem::create_directories(dir);
  const std::string csv = dir + "/trace.csv";
  const std::string command = std::string(ISIMDL_BINARY) + " run --config " + kSource +
                              "/configs/default.yaml --images 0:1 -p output.dir=" + dir + " -p dataset.dir=" + kSource +
                              "/tests/data --trace-csv " + csv + " --trace-layer 11 --trace-window 10:20 > /dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream in(csv);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "cycle,register,value");
  const QuantizedModel model = load_model(resolve_model_path("lenet5", default_zoo_dir()));
  const QuantizedLayer& fc3 = model.layers[11];
  std::map<int, int> rows_per_cycle;
  int checked = 0;
  while (std::getline(in, line)) {
    const auto c1 = line.find(','), c2 = line.rfind(',');
    const int cycle = std::stoi(line.substr(0, c1));
    const std::string reg = line.substr(c1 + 1, c2 - c1 - 1);
    const int value = std::stoi(line.substr(c2 + 1));
    ++rows_per_cycle[cycle];
    int r = 0, c = 0;
    char tail[16] = {};
    if (cycle >= 17 && std::sscanf(reg.c_str(), "array.pe_%d_%d.%15s", &r, &c, tail) == 3 && std::string(tail) == "w0") {
      const int expected = c < 10 ? fc3.weight[static_cast<std::size_t>(c) * 84 + static_cast<std::size_t>(r)] : 0;
      EXPECT_EQ(value, expected) << reg << " at cycle " << cycle;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 3 * 256);  // cycles 17, 18, 19
  ASSERT_EQ(rows_per_cycle.size(), 10u);  // the window 10:20
  const int R = 16, C = 16;
  for (const auto& [cycle, rows] : rows_per_cycle) EXPECT_EQ(rows, 7 * R * C + 3 * R * (R - 1) / 2 + C * (C - 1) / 2 + C);
}

// A trace that would trace nothing is a usage error before any cycle runs:
// a layer the model does not have, one that does not run on the array, a
// window past the layer's run; a fold trace longer than a fold is refused.
TEST(CliBinary, TraceTargetsAreCheckedBeforeRunning) {
  const std::string dir = (isimdl::test_dir() / "isimdl_trace_targets").string();
  std::filesystem::create_directories(dir);
  auto message = [&](const std::string& args, int expected_code) {
    const std::string log = dir + "/log";
    const std::string command = std::string(ISIMDL_BINARY) + " " + args + " > " + log + " 2>&1";
    const int status = std::system(command.c_str());
    EXPECT_EQ(WEXITSTATUS(status), expected_code) << command;
    std::ifstream in(log);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  const std::string run = "run --config " + kSource + "/configs/default.yaml --images 0:1 -p output.dir=" + dir +
                          " -p dataset.dir=" + kSource + "/tests/data --trace-csv " + dir + "/t.csv ";
  std::string text = message(run + "--trace-layer 99", 2);
  EXPECT_NE(text.find("--trace-layer 99: the model has layers 0..11; those on the array: 0, 3, 7, 9, 11"), std::string::npos)
      << text;
  text = message(run + "--trace-layer 1", 2);
  EXPECT_NE(text.find("--trace-layer 1: layer 1 does not run on the array"), std::string::npos) << text;
  text = message(run + "--trace-layer 11 --trace-window 100000:100010", 2);
  EXPECT_NE(text.find("--trace-window 100000:100010: layer 11 runs"), std::string::npos) << text;
  text = message("fold-trace --rows 4 --cols 4 --m 2000000000", 2);
  EXPECT_NE(text.find("--m 2000000000: a fold trace streams at most 65536 vectors"), std::string::npos) << text;
  text = message("fold-trace --rows 4 --cols 4 --stimulus " + dir + "/f.stim --trace-csv " + dir + "/f.csv", 0);
  EXPECT_NE(text.find("wrote " + dir + "/f.stim\nwrote " + dir + "/f.csv\n"), std::string::npos) << text;
  // Output-stationary: rows and columns held at most R and C; a fault in
  // its out chain; the weight registers it does not have are named.
  text = message("fold-trace --rows 4 --cols 3 --dataflow os --m 5", 2);
  EXPECT_NE(text.find("os: need 1 <= m <= rows"), std::string::npos) << text;
  text = message("fold-trace --rows 4 --cols 3 --dataflow os --m 3 --k 9 --fault \"cycle=17 group=pe_out index=4 bit=3\" "
                 "--stimulus " + dir + "/os.stim --trace-csv " + dir + "/os.csv",
                 0);
  EXPECT_NE(text.find("fold: 4x3 os array, M=3 K=9 N=3, 21 cycles; fault pe_out[4]"), std::string::npos) << text;
  text = message("fold-trace --rows 4 --cols 3 --dataflow os --fault \"cycle=5 group=pe_w0 index=0 bit=0\"", 1);
  EXPECT_NE(text.find("pe_w0[0] does not exist: the group has 0 instances"), std::string::npos) << text;
}

TEST(CliBinary, RunChecksBitExactnessAndWritesReports) {
  const std::string dir = (isimdl::test_dir() / "isimdl_run_test").string();
  std::filesystem::remove_all(dir);
  const std::string command = std::string(ISIMDL_BINARY) + " run --config " + kSource + "/configs/default.yaml --array " +
                              kSource + "/configs/arrays/8x8.yaml --model lenet5 --images 0:3 -p output.dir=" + dir +
                              " -p dataset.dir=" + kSource + "/tests/data > " + dir + ".log 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  for (const char* f : {"layers.csv", "run.yaml", "config.resolved.yaml", "predictions.csv"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + f)) << f;
  std::ifstream log(dir + ".log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("bit-exact with the reference engine (every accumulator and output): 3 of 3 images"),
            std::string::npos)
      << text;
  // run injects no faults: its header has no campaign lines.
  EXPECT_EQ(text.find("  campaign  "), std::string::npos) << text;
  EXPECT_EQ(text.find("fault groups"), std::string::npos) << text;
  // The resolved config records the array that ran.
  EXPECT_EQ(load_config(dir + "/config.resolved.yaml").array.rows, 8);
}

// SCALE-Sim v2's topology convention: the output size is
// ceil((ifmap - filter + stride) / stride), written out here for each row;
// one stride field means both directions, two give height and width.
TEST(Topology, OutputSizesAndStridesAsScaleSimReadsThem) {
  const std::string path = (isimdl::test_dir() / "isimdl_scalesim_topology.csv").string();
  std::ofstream(path) << "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
                         "Strides,\n"
                         "Conv1, 224, 224, 7, 7, 3, 64, 2,\n"      // (224-7)/2 = 108.5: 110 (floor + 1 gives 109)
                         "Conv2, 56, 56, 3, 3, 64, 64, 1,\n"       // 54
                         "Conv3, 56, 56, 1, 1, 64, 128, 2,\n"      // (56-1)/2 = 27.5: 29
                         "Conv4, 30, 20, 3, 3, 8, 16, 2, 3\n";     // 15 x 7
  const std::vector<TopologyLayer> layers = read_topology(path);
  ASSERT_EQ(layers.size(), 4u);
  const std::vector<std::pair<int, int>> ofmap{{110, 110}, {54, 54}, {29, 29}, {15, 7}};
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const TopologyLayer& l = layers[i];
    EXPECT_EQ(l.ofmap_h(), ofmap[i].first) << l.name;
    EXPECT_EQ(l.ofmap_w(), ofmap[i].second) << l.name;
    const auto ceil_div = [](int a, int b) { return (a + b - 1) / b; };
    EXPECT_EQ(l.ofmap_h(), ceil_div(l.ifmap_h - l.filter_h + l.stride_h, l.stride_h)) << l.name;
    EXPECT_EQ(l.gemm().m, ofmap[i].first * ofmap[i].second) << l.name;
    EXPECT_EQ(l.gemm().k, l.filter_h * l.filter_w * l.channels) << l.name;
    EXPECT_EQ(l.gemm().n, l.filters) << l.name;
  }
  EXPECT_EQ(layers[3].stride_h, 2);
  EXPECT_EQ(layers[3].stride_w, 3);
  EXPECT_EQ(layers[0].stride_w, 2);
}

// --scalesim-config: SCALE-Sim's .cfg gives the array in its conventions,
// and its reports carry its column names and definitions, checked here
// against closed forms on an 8x8 array: total cycles folds*(2R+C+T-2)-1
// (docs/hardware.md), overall utilization MACs/(cycles*R*C), mapping
// efficiency K*N/(folds*R*C) (every fold streams all T = M rows), compute
// utilization mapping * T/(2R+2C+T-3), SRAM requests per cycle; and
// isimdl's own simulated SRAM counters equal SCALE-Sim's request counts.
TEST(Cli, ScaleSimConfigAndReports) {
  const std::string dir = (test_dir() / "scalesim").string();
  std::filesystem::create_directories(dir);
  const auto write_cfg = [&](const std::string& name, const std::string& arch_lines) {
    const std::string path = dir + "/" + name;
    std::ofstream(path) << "[general]\nrun_name = test\n\n[architecture_presets]\n" << arch_lines
                        << "IfmapOffset: 0\nFilterOffset: 10000000\nOfmapOffset: 20000000\n"
                           "Bandwidth : 10\n\n[run_presets]\nInterfaceBandwidth: CALC\n";
    return path;
  };
  const std::string good = write_cfg("ws8.cfg",
                                     "ArrayHeight:    8\nArrayWidth: 8\nIfmapSramSzkB: 64\nFilterSramSzkB: 64\n"
                                     "OfmapSramSzkB: 1\nDataflow : ws\n");
  const std::string topology = dir + "/two.csv";
  std::ofstream(topology) << "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
                             "Strides,\n"
                             "A, 10, 10, 3, 3, 4, 12, 1,\n"     // M 64, K 36, N 12
                             "B, 9, 9, 1, 1, 20, 5, 2,\n";      // M 25, K 20, N 5
  const std::string out = dir + "/out";
  const std::string config = kSource + "/configs/default.yaml";
  CliRun r = run({"run", "--config", config, "--topology", topology, "--scalesim-config", good, "--out", out});
  ASSERT_EQ(r.code, kExitOk) << r.error;
  EXPECT_NE(r.out.find("COMPUTE_REPORT.csv"), std::string::npos) << r.out;
  // The array came from the .cfg, in SCALE-Sim's conventions (the OFMAP SRAM
  // of 1 KiB would split M into tiles under isimdl's own capacity rule).
  const Config resolved = load_config(out + "/config.resolved.yaml");
  EXPECT_EQ(resolved.array.rows, 8);
  EXPECT_EQ(resolved.array.timing, TimingMode::kScaleSim);
  EXPECT_EQ(resolved.array.m_tiling, MTiling::kScaleSim);

  const auto rows_of = [](const std::string& path) {
    std::ifstream in(path);
    std::vector<std::vector<std::string>> rows;
    std::string line;
    while (std::getline(in, line)) {
      std::vector<std::string> fields;
      std::stringstream ss(line);
      std::string f;
      while (std::getline(ss, f, ',')) fields.push_back(f.empty() || f[0] != ' ' ? f : f.substr(1));
      rows.push_back(fields);
    }
    return rows;
  };
  const auto compute = rows_of(out + "/COMPUTE_REPORT.csv");
  const auto bandwidth = rows_of(out + "/BANDWIDTH_REPORT.csv");
  const auto layers = rows_of(out + "/layers.csv");
  ASSERT_EQ(compute.size(), 3u);
  ASSERT_EQ(bandwidth.size(), 3u);
  EXPECT_EQ(compute[0], (std::vector<std::string>{"LayerID", "Total Cycles", "Stall Cycles", "Overall Util %",
                                                  "Mapping Efficiency %", "Compute Util %"}));
  EXPECT_EQ(bandwidth[0], (std::vector<std::string>{"LayerID", "Avg IFMAP SRAM BW", "Avg FILTER SRAM BW",
                                                    "Avg OFMAP SRAM BW", "Avg IFMAP DRAM BW", "Avg FILTER DRAM BW",
                                                    "Avg OFMAP DRAM BW"}));
  const double R = 8, C = 8;
  const struct { double m, k, n; } shape[] = {{64, 36, 12}, {25, 20, 5}};
  // Input-stationary (systolic_compute_is): folds over K (rows) and M
  // (columns), T = N; the activations are read once per PE used, the filters
  // T times per row used, the outputs once per column used and filter.
  const std::string is_cfg = write_cfg("is8.cfg", "ArrayHeight: 8\nArrayWidth: 8\nIfmapSramSzkB: 64\nFilterSramSzkB: 64\n"
                                                  "OfmapSramSzkB: 1\nDataflow : is\n");
  r = run({"run", "--config", config, "--topology", topology, "--scalesim-config", is_cfg, "--out", dir + "/is"});
  ASSERT_EQ(r.code, kExitOk) << r.error;
  EXPECT_EQ(load_config(dir + "/is/config.resolved.yaml").array.dataflow, Dataflow::kInputStationary);
  const auto is_compute = rows_of(dir + "/is/COMPUTE_REPORT.csv");
  const auto is_bandwidth = rows_of(dir + "/is/BANDWIDTH_REPORT.csv");
  ASSERT_EQ(is_compute.size(), 3u);
  ASSERT_EQ(is_bandwidth.size(), 3u);
  for (const bool is : {false, true})
    for (int i = 0; i < 2; ++i) {
      const auto& row = (is ? is_compute : compute)[static_cast<std::size_t>(i + 1)];
      const auto& bw = (is ? is_bandwidth : bandwidth)[static_cast<std::size_t>(i + 1)];
      const double m = shape[i].m, k = shape[i].k, n = shape[i].n;
      // The columns hold N (ws) or M (is); T is the other.
      const double cols_of = is ? m : n, t = is ? n : m;
      const double row_folds = std::ceil(k / R), col_folds = std::ceil(cols_of / C), folds = row_folds * col_folds;
      const double total = folds * (2 * R + C + t - 2) - 1;
      const std::string where = std::string(is ? "is" : "ws") + " layer " + std::to_string(i);
      EXPECT_EQ(row[0], std::to_string(i));
      EXPECT_EQ(std::stod(row[1]), total) << where;
      EXPECT_EQ(row[2], "0");
      EXPECT_NEAR(std::stod(row[3]), 100 * m * k * n / (total * R * C), 1e-9) << where;
      const double mapping = k * cols_of / (folds * R * C);
      EXPECT_NEAR(std::stod(row[4]), 100 * mapping, 1e-9) << where;
      EXPECT_NEAR(std::stod(row[5]), 100 * mapping * t / (2 * R + 2 * C + t - 3), 1e-9) << where;
      // The streamed operand is read once per column fold, the held one once.
      const double streamed = col_folds * t * k, held = k * cols_of;
      EXPECT_NEAR(std::stod(bw[1]), (is ? held : streamed) / total, 1e-12) << where;
      EXPECT_NEAR(std::stod(bw[2]), (is ? streamed : held) / total, 1e-12) << where;
      EXPECT_NEAR(std::stod(bw[3]), row_folds * m * n / total, 1e-12) << where;
      if (is) continue;
      // The simulated array read the ifmap SRAM and wrote the accumulators as
      // often as SCALE-Sim counts its IFMAP reads and OFMAP writes.
      const auto& l = layers[static_cast<std::size_t>(i + 1)];
      ASSERT_GE(l.size(), 18u);
      EXPECT_EQ(std::stod(l[14]), col_folds * m * k) << "ifmap SRAM reads, layer " << i;
      EXPECT_EQ(std::stod(l[15]), k * n) << "filter SRAM reads, layer " << i;
      EXPECT_EQ(std::stod(l[17]), row_folds * m * n) << "accumulator writes, layer " << i;
    }

  // DETAILED_ACCESS_REPORT: SCALE-Sim's demand-matrix layout walked fold by
  // fold here (column fold major, L = 2R + C + T - 2 rows per fold): the
  // streamed operand's column j < used_k holds requests in rows R + j ..
  // R + T - 1 + j, the held operand's in rows R - used_k .. R - 1 (flipped),
  // the outputs' column c < used_c in rows 2R - 1 + c .. 2R - 2 + T + c; a
  // read is served one cycle after its row, a write in it.
  for (const bool is : {false, true}) {
    const auto detail = rows_of(dir + (is ? "/is" : "/out") + "/DETAILED_ACCESS_REPORT.csv");
    ASSERT_EQ(detail.size(), 3u);
    EXPECT_EQ(detail[0].size(), 19u);
    EXPECT_EQ(detail[0][1], "SRAM IFMAP Start Cycle");
    EXPECT_EQ(detail[0][18], "DRAM OFMAP Writes");
    const auto& totals = is ? is_compute : compute;
    for (int i = 0; i < 2; ++i) {
      const int m = static_cast<int>(shape[i].m), k = static_cast<int>(shape[i].k), n = static_cast<int>(shape[i].n);
      const int r = 8, c = 8, sc = is ? m : n, t = is ? n : m, fold_rows = 2 * r + c + t - 2;
      long long stream[2] = {LLONG_MAX, -1}, held[2] = {LLONG_MAX, -1}, out[2] = {LLONG_MAX, -1};
      auto note = [](long long* span, long long row) { span[0] = std::min(span[0], row), span[1] = std::max(span[1], row); };
      int f = 0;
      for (int fc = 0; fc * c < sc; ++fc)
        for (int fr = 0; fr * r < k; ++fr, ++f) {
          const long long base = static_cast<long long>(f) * fold_rows;
          const int used_k = std::min(r, k - fr * r), used_c = std::min(c, sc - fc * c);
          for (int j = 0; j < used_k; ++j) note(stream, base + r + j), note(stream, base + r + t - 1 + j);
          note(held, base + r - used_k), note(held, base + r - 1);
          for (int cc = 0; cc < used_c; ++cc) note(out, base + 2 * r - 1 + cc), note(out, base + 2 * r - 2 + t + cc);
        }
      const auto& row = detail[static_cast<std::size_t>(i + 1)];
      const auto& ifmap = is ? held : stream;
      const auto& filter = is ? stream : held;
      const std::string where = std::string(is ? "is" : "ws") + " layer " + std::to_string(i);
      EXPECT_EQ(row[1], std::to_string(ifmap[0] + 1) + ".0") << where;
      EXPECT_EQ(row[2], std::to_string(ifmap[1] + 1) + ".0") << where;
      EXPECT_EQ(row[4], std::to_string(filter[0] + 1) + ".0") << where;
      EXPECT_EQ(row[5], std::to_string(filter[1] + 1) + ".0") << where;
      EXPECT_EQ(row[7], std::to_string(out[0]) + ".0") << where;
      EXPECT_EQ(row[8], std::to_string(out[1]) + ".0") << where;
      // The last write is in the last cycle when the last fold uses every column.
      EXPECT_LE(std::stoll(row[8]), std::stoll(totals[static_cast<std::size_t>(i + 1)][1])) << where;
      if (sc % c == 0) {
        EXPECT_EQ(std::stoll(row[8]), std::stoll(totals[static_cast<std::size_t>(i + 1)][1])) << where;
      }
      // The request counts: SCALE-Sim's, as in the bandwidth report.
      const long long row_folds = (k + r - 1) / r, col_folds = (sc + c - 1) / c;
      EXPECT_EQ(std::stoll(row[3]), is ? 1LL * m * k : col_folds * m * k) << where;
      EXPECT_EQ(std::stoll(row[6]), is ? col_folds * n * k : 1LL * k * n) << where;
      EXPECT_EQ(std::stoll(row[9]), row_folds * m * n) << where;
    }
  }

  // Output-stationary (systolic_compute_os): folds over M (rows) and N
  // (columns), T = K, T + R + C - 2 demand rows per fold; both operands
  // stream (ifmap T per row used, filter T per column used), and SCALE-Sim
  // counts each fold's outputs plus R + C. The demand matrices walked here:
  // ifmap column r < used_m requests rows r .. T - 1 + r, filter column c <
  // used_n rows c .. T - 1 + c, outputs after T - 1 rows, flipped (unused
  // rows first), column c delayed by c.
  const std::string os_cfg = write_cfg("os.cfg", "ArrayHeight: 8\nArrayWidth: 8\nIfmapSramSzkB: 64\nFilterSramSzkB: 64\n"
                                                 "OfmapSramSzkB: 64\nDataflow : os\n");
  r = run({"run", "--config", config, "--topology", topology, "--scalesim-config", os_cfg, "--out", dir + "/os"});
  ASSERT_EQ(r.code, kExitOk) << r.error;
  EXPECT_EQ(load_config(dir + "/os/config.resolved.yaml").array.dataflow, Dataflow::kOutputStationary);
  {
    const auto os_compute = rows_of(dir + "/os/COMPUTE_REPORT.csv");
    const auto os_bandwidth = rows_of(dir + "/os/BANDWIDTH_REPORT.csv");
    const auto os_detail = rows_of(dir + "/os/DETAILED_ACCESS_REPORT.csv");
    const auto os_layers = rows_of(dir + "/os/layers.csv");
    ASSERT_EQ(os_compute.size(), 3u);
    ASSERT_EQ(os_detail.size(), 3u);
    for (int i = 0; i < 2; ++i) {
      const double m = shape[i].m, k = shape[i].k, n = shape[i].n;
      const double row_folds = std::ceil(m / R), col_folds = std::ceil(n / C), folds = row_folds * col_folds;
      const double total = folds * (k + R + C - 2) - 1;
      const std::string where = "os layer " + std::to_string(i);
      const auto& row = os_compute[static_cast<std::size_t>(i + 1)];
      EXPECT_EQ(std::stod(row[1]), total) << where;
      EXPECT_NEAR(std::stod(row[3]), 100 * m * k * n / (total * R * C), 1e-9) << where;
      const double mapping = m * n / (folds * R * C);
      EXPECT_NEAR(std::stod(row[4]), 100 * mapping, 1e-9) << where;
      EXPECT_NEAR(std::stod(row[5]), 100 * mapping * k / (k + R + C - 2), 1e-9) << where;
      const auto& bw = os_bandwidth[static_cast<std::size_t>(i + 1)];
      EXPECT_NEAR(std::stod(bw[1]), col_folds * k * m / total, 1e-12) << where;
      EXPECT_NEAR(std::stod(bw[2]), row_folds * k * n / total, 1e-12) << where;
      EXPECT_NEAR(std::stod(bw[3]), (m * n + folds * (R + C)) / total, 1e-12) << where;
      // The simulated array read its SRAMs as often as SCALE-Sim requests.
      const auto& l = os_layers[static_cast<std::size_t>(i + 1)];
      EXPECT_EQ(std::stod(l[14]), col_folds * m * k) << "ifmap SRAM reads, " << where;
      EXPECT_EQ(std::stod(l[15]), row_folds * k * n) << "filter SRAM reads, " << where;
      const int r8 = 8, c8 = 8, T = static_cast<int>(k), fold_rows = T + r8 + c8 - 2;
      long long in[2] = {LLONG_MAX, -1}, fl[2] = {LLONG_MAX, -1}, out[2] = {LLONG_MAX, -1};
      auto note = [](long long* span, long long x) { span[0] = std::min(span[0], x), span[1] = std::max(span[1], x); };
      int f = 0;
      for (int fc = 0; fc * c8 < n; ++fc)
        for (int fr = 0; fr * r8 < m; ++fr, ++f) {
          const long long base = static_cast<long long>(f) * fold_rows;
          const int used_m = std::min(r8, static_cast<int>(m) - fr * r8), used_n = std::min(c8, static_cast<int>(n) - fc * c8);
          for (int j = 0; j < used_m; ++j) note(in, base + j), note(in, base + T - 1 + j);
          for (int j = 0; j < used_n; ++j) note(fl, base + j), note(fl, base + T - 1 + j);
          for (int p = r8 - used_m; p < r8; ++p)
            for (int cc = 0; cc < used_n; ++cc) note(out, base + T - 1 + p + cc);
        }
      const auto& d = os_detail[static_cast<std::size_t>(i + 1)];
      EXPECT_EQ(d[1], std::to_string(in[0] + 1) + ".0") << where;
      EXPECT_EQ(d[2], std::to_string(in[1] + 1) + ".0") << where;
      EXPECT_EQ(d[4], std::to_string(fl[0] + 1) + ".0") << where;
      EXPECT_EQ(d[5], std::to_string(fl[1] + 1) + ".0") << where;
      EXPECT_EQ(d[7], std::to_string(out[0]) + ".0") << where;
      EXPECT_EQ(d[8], std::to_string(out[1]) + ".0") << where;
      EXPECT_EQ(std::stoll(d[3]), static_cast<long long>(col_folds * k * m)) << where;
      EXPECT_EQ(std::stoll(d[9]), static_cast<long long>(m * n + folds * (R + C))) << where;
    }
  }
  // Broken files are named.
  const std::string no_width =
      write_cfg("nowidth.cfg", "ArrayHeight: 8\nIfmapSramSzkB: 64\nFilterSramSzkB: 64\nOfmapSramSzkB: 64\nDataflow: ws\n");
  r = run({"run", "--config", config, "--topology", topology, "--scalesim-config", no_width, "--out", dir + "/nw"});
  EXPECT_NE(r.error.find(no_width + ": [architecture_presets] has no ArrayWidth"), std::string::npos) << r.error;
  const std::string bad = write_cfg("bad.cfg", "ArrayHeight: 8x\nArrayWidth: 8\nIfmapSramSzkB: 64\nFilterSramSzkB: 64\n"
                                               "OfmapSramSzkB: 64\nDataflow: ws\n");
  r = run({"run", "--config", config, "--topology", topology, "--scalesim-config", bad, "--out", dir + "/bad"});
  EXPECT_NE(r.error.find(bad + ":5: ArrayHeight must be a whole number in 1..1024, got \"8x\""), std::string::npos)
      << r.error;
  EXPECT_FALSE(std::filesystem::exists(dir + "/bad/COMPUTE_REPORT.csv"));
}

TEST(CliBinary, BadTopologyIsAnErrorBeforeRunning) {
  const std::string path = (isimdl::test_dir() / "isimdl_bad_topology.csv").string();
  std::ofstream(path) << "Layer, h, w, fh, fw, c, f, s,\nconv1, 3, 3, 5, 5, 1, 1, 1,\n";
  EXPECT_EQ(exit_code_of("run --config " + kSource + "/configs/default.yaml --topology " + path), 1);
}

}  // namespace
}  // namespace isimdl

namespace isimdl {
namespace {

TEST(CliBinary, CompareWritesItsTablesAndFigureData) {
  const std::string dir = (isimdl::test_dir() / "isimdl_compare_test").string();
  std::filesystem::remove_all(dir);
  const std::string command = std::string(ISIMDL_BINARY) + " compare --config " + kSource +
                              "/configs/campaigns/lenet5-isimdl.yaml -p array.rows=8 -p array.cols=8 -p dataset.images=0:5"
                              " -p dataset.dir=" + kSource + "/tests/data --seeds 2 --faults 25 --out " + dir +
                              " > " + dir + ".log 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream csv(dir + "/precision.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header, "model,threshold,sampler,seed,budget,critical_found,precision,estimate,lo,hi");
  int rows = 0;
  for (std::string line; std::getline(csv, line);) ++rows;
  EXPECT_EQ(rows, 2 /*thresholds*/ * 2 /*samplers*/ * 2 /*seeds*/ * 2 /*budgets 10, 25*/);
  for (const char* f : {"table.md", "by_group.csv", "precision_lenet5_0.05.csv", "estimate_lenet5_0.25.csv", "plots.gnuplot"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + f)) << f;
}

}  // namespace
}  // namespace isimdl
