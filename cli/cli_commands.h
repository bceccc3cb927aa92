#pragma once

#include <iosfwd>
#include <vector>

#include "cli/cli.h"

namespace isimdl {

// Each group of subcommands lives in its own source file and is listed by
// cli_commands() (cli/cli_commands.cpp); there is no self-registration.
std::vector<CliCommand> model_commands();  // train, infer (cli/cli_models.cpp)
CliCommand run_command();                  // run (cli/cli_run.cpp)
std::vector<CliCommand> campaign_commands();  // campaign, results (cli/cli_campaign.cpp)
CliCommand compare_command_entry();          // compare (cli/cli_compare.cpp)
CliCommand coverage_command_entry();         // coverage (cli/cli_coverage.cpp)
std::vector<CliCommand> fault_commands();
std::vector<CliCommand> trace_commands();
CliCommand sweep_command_entry();             // sweep (cli/cli_sweep.cpp)
CliCommand report_command_entry();            // report (cli/cli_report.cpp)    // trace-diff, fold-trace (cli/cli_traces.cpp)    // explain-fault, find-critical, fault-accuracy, fat (cli/cli_faults.cpp)

struct Config;
// `campaign`: also the campaign's lines (sampler, faults, groups); `run` and
// the other commands that inject no faults leave them out.
void print_config_summary(const Config& config, std::ostream& out, bool campaign = true);

}  // namespace isimdl
