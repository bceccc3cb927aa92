#pragma once

#include <string>
#include <vector>

#include "hw/fault_site.h"

namespace isimdl {

class FaultSpace;

// Fault lists: TSV, one fault a line, after a header line
//   layer  cycle  group  index  bit  kind  width  duration
// group as campaign.groups names it, kind as campaign.kind; `#` starts a
// comment line. docs/campaigns.md describes it.
// An optional ninth column `weight` carries importance weights p/q (1 when absent).
struct FaultList;
void write_fault_list(const std::string& path, const FaultList& list);
// Throws Error naming the file and line of the first malformed or
// impossible fault (checked against `space`); nothing is run before.
FaultList read_fault_list(const std::string& path, const FaultSpace& space);

// One fault from the command line: "layer=9 cycle=120 group=pe_w0 index=19
// bit=7" (commas or spaces; kind, width, duration optional as in the TSV).
// Throws Error naming the bad key or value.
FaultSite parse_fault_site(const std::string& text);

}  // namespace isimdl
