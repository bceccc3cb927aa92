#include "cli/cli.h"

#include <fmt/format.h>

#include <iostream>
#include <ostream>
#include <sstream>

#include "campaign/mpi_ranks.h"
#include "hw/accelerator.h"
#include "isimdl/version.h"
#include "models/error.h"

namespace isimdl {
namespace po = boost::program_options;
namespace {

void print_command_list(const std::string& prog, const std::vector<CliCommand>& commands, std::ostream& out) {
  out << "Usage: " << prog << " [--help] [--version] <command> [<args>]\n\ncommands:\n";
  std::size_t width = 0;
  for (const auto& c : commands) width = std::max(width, c.name.size());
  for (const auto& c : commands) out << "  " << c.name << std::string(width + 3 - c.name.size(), ' ') << c.summary << "\n";
  out << "\nRun '" << prog << " <command> --help' for the options of a command.\n";
}

int dispatch(const std::string& prog, const std::vector<CliCommand>& commands, const std::vector<std::string>& args,
             CliStreams& io, bool top_level) {
  if (args.empty()) throw UsageError(fmt::format("{}: missing command (see '{} --help')", prog, prog));
  const std::string& first = args.front();
  if (first == "--help" || first == "-h" || first == "help") {
    if (top_level)
      io.out << "isimdl " << kVersion
             << " - cycle-level SystemC model of a weight-stationary systolic-array DNN accelerator,\n"
                "register-level fault injection, and ISimDL importance sampling of critical faults.\n\n";
    print_command_list(prog, commands, io.out);
    return kExitOk;
  }
  if (top_level && first == "--version") {
    io.out << "isimdl " << kVersion << " (SystemC " << systemc_version() << ")\n";
    return kExitOk;
  }
  if (!first.empty() && first[0] == '-')
    throw UsageError(fmt::format("{}: unknown option '{}' (see '{} --help')", prog, first, prog));
  for (const auto& command : commands) {
    if (command.name != first) continue;
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    const std::string sub_prog = prog + " " + command.name;
    if (!command.subcommands.empty()) return dispatch(sub_prog, command.subcommands, rest, io, false);
    return command.run(rest, sub_prog, io);
  }
  throw UsageError(fmt::format("{}: unknown command '{}' (see '{} --help')", prog, first, prog));
}

}  // namespace

bool parse_command_line(const std::string& prog, const std::string& usage, po::options_description& options,
                        const po::positional_options_description& positionals, const std::vector<std::string>& args,
                        po::variables_map& values, CliStreams& io) {
  options.add_options()("help,h", "show this help");
  try {
    po::store(po::command_line_parser(args).options(options).positional(positionals).run(), values);
    if (values.count("help")) {
      io.out << "Usage: " << prog << " " << usage << "\n\n" << options << "\n";
      return true;
    }
    po::notify(values);
  } catch (const po::error& e) {
    throw UsageError(fmt::format("{}: {} (see '{} --help')", prog, e.what(), prog));
  }
  return false;
}

int with_mpi_ranks(const std::string& prog, CliStreams& io, bool force,
                   const std::function<int(CliStreams& io, MpiRanks* mpi)>& body) {
  if (!force && !MpiRanks::launched()) return body(io, nullptr);
  MpiRanks mpi;
  std::ostringstream dropped;
  CliStreams rank_io{mpi.rank() > 0 ? static_cast<std::ostream&>(dropped) : io.out, io.err};
  try {
    return body(rank_io, &mpi);
  } catch (const std::exception& e) {
    std::cerr << fmt::format("{}: rank {}: {}\n", prog, mpi.rank(), e.what());
    mpi.abort(dynamic_cast<const UsageError*>(&e) ? kExitUsage : 1);
  }
}

int run_cli(const std::vector<std::string>& args, CliStreams& io) { return dispatch("isimdl", cli_commands(), args, io, true); }

}  // namespace isimdl
