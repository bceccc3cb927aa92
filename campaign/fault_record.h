#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hw/fault_site.h"
#include "runner/fault_simulator.h"

namespace isimdl {

// One fault's result over the campaign's images.
struct FaultRecord {
  std::int64_t fault_index = 0;  // position in the campaign's fault list
  FaultSite site;
  InjectionRecord injection;  // on the first image
  std::array<int, kOutcomeCount> outcomes{};
  std::array<int, kDeathPointCount> died{};
  int sim_errors = 0;
  int images = 0;
  int correct = 0;         // faulty top-1 == label
  int golden_correct = 0;  // golden top-1 == label
  double accuracy = 0.0;
  double drop = 0.0;       // (golden - faulty) / golden accuracy
  bool critical = false;
  double weight = 1.0;     // importance weight p/q (1 for uniform sampling)
  std::string error;       // sim_error detail
  // A simulator error (a worker crashed on this fault, twice) is not an
  // outcome of the fault: such a row is kept out of every rate and estimate,
  // reported separately, and run again by --resume.
  bool measured() const { return sim_errors == 0; }
};

// A column's value, as SQLite stores it.
struct FaultValue {
  std::int64_t integer = 0;
  double real = 0.0;
  std::string text;
};

// One column of a fault's row. The one list of FaultRecord's fields: the
// SQLite schema, the row written and read, and the CSV and JSON exports of
// `isimdl results export` all walk it, in its order.
struct FaultColumn {
  enum class Type { kInteger, kReal, kText };
  // How an export writes the value: an integer, 6 decimals, the shortest
  // exact decimal, a name, or a flag (1/0 in CSV, true/false in JSON).
  enum class Format { kInteger, kFixed6, kShortest, kName, kFlag };
  std::string name;         // CSV header and JSON key
  std::string sql;          // SQLite column definition, e.g. "grp TEXT NOT NULL"
  Type type = Type::kInteger;
  Format format = Format::kInteger;
  bool csv = true, json = true;  // exported (the error text is not)
  std::string json_group;        // JSON nests consecutive columns of a group under this key ...
  std::string json_name;         // ... with this key
  std::function<FaultValue(const FaultRecord&)> get;
  std::function<void(FaultRecord&, const FaultValue&)> set;

  // The value as an export writes it.
  std::string csv_text(const FaultRecord& r) const;
  std::string json_text(const FaultRecord& r) const;
};
const std::vector<FaultColumn>& fault_columns();

// A record as bytes for another process (a worker's pipe, an MPI message):
// every column of fault_columns() in order, integers and reals as their 8
// bytes, text as a 4-byte length and its bytes (one machine's byte order: the
// ranks of one job share it). read_record throws Error on truncated bytes.
void append_record(std::string& bytes, const FaultRecord& r);
FaultRecord read_record(const std::string& bytes, std::size_t& offset);

// The exports of `isimdl results export`, walking fault_columns().
std::string fault_csv_header();
std::string fault_csv_row(const FaultRecord& r);
std::string fault_json_object(const FaultRecord& r);

}  // namespace isimdl
