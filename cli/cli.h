#pragma once

#include <boost/program_options.hpp>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace isimdl {

// Exit codes of the isimdl command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;  // the work failed (bad config, bad file, ...)
inline constexpr int kExitUsage = 2;  // the command line is wrong

struct CliStreams {
  std::ostream& out;
  std::ostream& err;
};

// One subcommand: `isimdl <name> ...`. A command either runs (`run`) or
// dispatches to nested subcommands (`config check`).
struct CliCommand {
  std::string name;
  std::string summary;
  std::function<int(const std::vector<std::string>& args, const std::string& prog, CliStreams& io)> run;
  std::vector<CliCommand> subcommands;
};

// Runs the isimdl command line (args without the program name) and returns
// the exit code. Errors are thrown, never printed here: UsageError for a bad
// command line, other isimdl::Error for failed work.
int run_cli(const std::vector<std::string>& args, CliStreams& io);

// Parses `args` against `options` (and positionals); a Boost error becomes a
// UsageError prefixed with `prog`. Returns true when --help was asked for,
// after printing the help text.
bool parse_command_line(const std::string& prog, const std::string& usage,
                        boost::program_options::options_description& options,
                        const boost::program_options::positional_options_description& positionals,
                        const std::vector<std::string>& args, boost::program_options::variables_map& values,
                        CliStreams& io);

class MpiRanks;
// Runs a command's `body` in this process, or — when it was started as one
// of several ranks of an MPI job (MpiRanks::launched(), or `force`) — on
// every rank with MPI initialized: rank 0 prints to io.out, the other ranks'
// output is dropped, and an error on any rank ends the whole job after
// naming the rank (`prog: rank R: what`).
int with_mpi_ranks(const std::string& prog, CliStreams& io, bool force,
                   const std::function<int(CliStreams& io, MpiRanks* mpi)>& body);

// The subcommands, in the order `isimdl --help` lists them.
std::vector<CliCommand> cli_commands();

}  // namespace isimdl
