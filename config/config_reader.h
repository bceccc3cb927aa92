#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace isimdl {

// Where configuration text came from: the file and the -p overrides applied
// to it, so that every message can point at the line or the override to fix.
struct ConfigSource {
  std::string file;
  std::map<std::string, std::string> overrides;  // key path -> "-p path=value"
};

// Reads one YAML mapping of a configuration, key by key, with types, ranges
// and enumerations checked as it goes. Each accessor records the key as
// known; finish() then rejects every key nobody asked for.
class ConfigReader {
 public:
  static constexpr std::int64_t kNoLimit = std::numeric_limits<std::int64_t>::max();

  ConfigReader(YAML::Node node, std::string path, std::shared_ptr<const ConfigSource> source);

  // A nested mapping; a missing key reads as an empty mapping (all defaults).
  ConfigReader section(const std::string& key);

  std::int64_t integer(const std::string& key, std::int64_t lo, std::int64_t hi, std::optional<std::int64_t> fallback);
  double number(const std::string& key, double lo, double hi, std::optional<double> fallback);
  std::string text(const std::string& key, std::optional<std::string> fallback);
  std::string choice(const std::string& key, const std::vector<std::string>& choices,
                     std::optional<std::string> fallback);
  std::vector<std::string> choice_list(const std::string& key, const std::vector<std::string>& choices,
                                       std::optional<std::vector<std::string>> fallback);

  // A list of integers in [lo, hi]; a missing key gives `fallback`.
  std::vector<std::int64_t> integer_list(const std::string& key, std::int64_t lo, std::int64_t hi,
                                         std::vector<std::int64_t> fallback);

  // A list of numbers in [lo, hi]; a missing key gives `fallback`.
  std::vector<double> number_list(const std::string& key, double lo, double hi, std::vector<double> fallback);

  // True when `key` holds exactly the scalar `word` (e.g. faults: all); the
  // key is then known, and the caller does not read it again.
  bool is_word(const std::string& key, const std::string& word);

  // Throws for every key present that no accessor read, and for duplicates.
  void finish() const;

  // "file:line: key.path: message", or "-p key=value: key.path: message".
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;
  std::string key_path(const std::string& key) const;

 private:
  // The value of `key`, or an undefined node; remembers the key as known.
  YAML::Node lookup(const std::string& key);
  std::string location(const std::string& key) const;

  YAML::Node node_;
  std::string path_;
  std::shared_ptr<const ConfigSource> source_;
  std::set<std::string> known_;
};

// Applies one "-p a.b.c=value" override to the tree, creating mappings on the
// way. The value is read as YAML, so lists ("[a, b]") work.
void apply_override(YAML::Node& root, const std::string& assignment, ConfigSource& source);

// Throws ConfigError ("WHERE:LINE: byte 0x9b ...") unless `text` is UTF-8
// text without control characters other than tab, line feed and carriage
// return — what YAML allows. Checked before yaml-cpp sees a text: yaml-cpp
// 0.7 loops forever, allocating, on some invalid bytes (found by fuzzing).
void check_yaml_text(const std::string& text, const std::string& where);

}  // namespace isimdl
