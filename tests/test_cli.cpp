#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <sstream>

#include "models/error.h"
#include "sim/cli.h"

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

// The real binary: main() is the only place that maps exceptions to exit codes.
int exit_code_of(const std::string& args) {
  const std::string command = std::string(ISIMDL_BINARY) + " " + args + " >/dev/null 2>&1";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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
