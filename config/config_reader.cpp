#include "config/config_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "models/error.h"

namespace isimdl {
namespace {

std::string describe(const YAML::Node& node) {
  if (node.IsNull()) return "nothing (null)";
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  return fmt::format("\"{}\"", node.Scalar());
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string range_phrase(std::int64_t lo, std::int64_t hi) {
  if (hi == ConfigReader::kNoLimit) {
    if (lo == 1) return "a positive integer";
    if (lo == 0) return "a non-negative integer";
    return fmt::format("an integer >= {}", lo);
  }
  return fmt::format("an integer in {}..{}", lo, hi);
}

}  // namespace

ConfigReader::ConfigReader(YAML::Node node, std::string path, std::shared_ptr<const ConfigSource> source)
    : node_(std::move(node)), path_(std::move(path)), source_(std::move(source)) {
  if (node_.IsDefined() && !node_.IsNull() && !node_.IsMap()) fail("", "expected a mapping, got " + describe(node_));
}

std::string ConfigReader::key_path(const std::string& key) const {
  if (path_.empty()) return key;
  if (key.empty()) return path_;
  return path_ + "." + key;
}

std::string ConfigReader::location(const std::string& key) const {
  // An override of this key or of any section above it is the place to fix.
  std::string path = key_path(key);
  for (;;) {
    auto it = source_->overrides.find(path);
    if (it != source_->overrides.end()) return it->second;
    const auto dot = path.rfind('.');
    if (dot == std::string::npos) break;
    path.erase(dot);
  }
  YAML::Mark mark = node_.Mark();
  if (!key.empty() && node_.IsMap()) {
    for (const auto& entry : node_) {
      if (entry.first.Scalar() == key) {
        mark = entry.second.IsNull() ? entry.first.Mark() : entry.second.Mark();
        break;
      }
    }
  }
  if (mark.is_null()) return source_->file;
  return fmt::format("{}:{}", source_->file, mark.line + 1);
}

void ConfigReader::fail(const std::string& key, const std::string& message) const {
  throw ConfigError(fmt::format("{}: {}: {}", location(key), key_path(key).empty() ? "(top level)" : key_path(key),
                                message));
}

YAML::Node ConfigReader::lookup(const std::string& key) {
  known_.insert(key);
  if (!node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  for (const auto& entry : node_)
    if (entry.first.Scalar() == key) return entry.second;
  return YAML::Node(YAML::NodeType::Undefined);
}

ConfigReader ConfigReader::section(const std::string& key) {
  YAML::Node value = lookup(key);
  if (value.IsDefined() && !value.IsNull() && !value.IsMap()) fail(key, "expected a mapping, got " + describe(value));
  return ConfigReader(value, key_path(key), source_);
}

std::int64_t ConfigReader::integer(const std::string& key, std::int64_t lo, std::int64_t hi,
                                   std::optional<std::int64_t> fallback) {
  const YAML::Node value = lookup(key);
  if (!value.IsDefined()) {
    if (!fallback) fail(key, "required key is missing; expected " + range_phrase(lo, hi));
    return *fallback;
  }
  std::int64_t parsed = 0;
  bool ok = value.IsScalar();
  if (ok) {
    const std::string& s = value.Scalar();
    const char* first = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
    const auto result = std::from_chars(first, s.data() + s.size(), parsed);
    ok = !s.empty() && result.ec == std::errc() && result.ptr == s.data() + s.size();
  }
  if (!ok || parsed < lo || parsed > hi) fail(key, fmt::format("expected {}, got {}", range_phrase(lo, hi), describe(value)));
  return parsed;
}

double ConfigReader::number(const std::string& key, double lo, double hi, std::optional<double> fallback) {
  const YAML::Node value = lookup(key);
  const std::string expected = fmt::format("a number in [{}, {}]", lo, hi);
  if (!value.IsDefined()) {
    if (!fallback) fail(key, "required key is missing; expected " + expected);
    return *fallback;
  }
  double parsed = 0;
  bool ok = value.IsScalar();
  if (ok) {
    const std::string& s = value.Scalar();
    const char* first = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
    const auto result = std::from_chars(first, s.data() + s.size(), parsed);
    ok = !s.empty() && result.ec == std::errc() && result.ptr == s.data() + s.size() && std::isfinite(parsed);
  }
  if (!ok || parsed < lo || parsed > hi) fail(key, fmt::format("expected {}, got {}", expected, describe(value)));
  return parsed;
}

std::string ConfigReader::text(const std::string& key, std::optional<std::string> fallback) {
  const YAML::Node value = lookup(key);
  if (!value.IsDefined()) {
    if (!fallback) fail(key, "required key is missing; expected a string");
    return *fallback;
  }
  if (!value.IsScalar() || value.Scalar().empty())
    fail(key, fmt::format("expected a non-empty string, got {}", describe(value)));
  return value.Scalar();
}

std::string ConfigReader::choice(const std::string& key, const std::vector<std::string>& choices,
                                 std::optional<std::string> fallback) {
  const YAML::Node value = lookup(key);
  if (!value.IsDefined()) {
    if (!fallback) fail(key, "required key is missing; expected one of " + join(choices));
    return *fallback;
  }
  if (!value.IsScalar() || std::find(choices.begin(), choices.end(), value.Scalar()) == choices.end())
    fail(key, fmt::format("expected one of {}, got {}", join(choices), describe(value)));
  return value.Scalar();
}

std::vector<std::string> ConfigReader::choice_list(const std::string& key, const std::vector<std::string>& choices,
                                                   std::optional<std::vector<std::string>> fallback) {
  const YAML::Node value = lookup(key);
  if (!value.IsDefined()) {
    if (!fallback) fail(key, "required key is missing; expected a list of " + join(choices));
    return *fallback;
  }
  if (!value.IsSequence()) fail(key, fmt::format("expected a list of {}, got {}", join(choices), describe(value)));
  std::vector<std::string> items;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const YAML::Node item = value[i];
    if (!item.IsScalar() || std::find(choices.begin(), choices.end(), item.Scalar()) == choices.end())
      fail(key, fmt::format("item {}: expected one of {}, got {}", i + 1, join(choices), describe(item)));
    if (std::find(items.begin(), items.end(), item.Scalar()) != items.end())
      fail(key, fmt::format("item {}: \"{}\" is listed twice", i + 1, item.Scalar()));
    items.push_back(item.Scalar());
  }
  if (items.empty()) fail(key, "expected at least one of " + join(choices) + ", got an empty list");
  return items;
}

std::vector<std::int64_t> ConfigReader::integer_list(const std::string& key, std::int64_t lo, std::int64_t hi,
                                                     std::vector<std::int64_t> fallback) {
  const YAML::Node value = lookup(key);
  if (!value.IsDefined()) return fallback;
  if (!value.IsSequence()) fail(key, fmt::format("expected a list of {}, got {}", range_phrase(lo, hi), describe(value)));
  std::vector<std::int64_t> items;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const YAML::Node item = value[i];
    std::int64_t parsed = 0;
    bool ok = item.IsScalar();
    if (ok) {
      const std::string& s = item.Scalar();
      const auto r = std::from_chars(s.data(), s.data() + s.size(), parsed);
      ok = !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
    }
    if (!ok || parsed < lo || parsed > hi)
      fail(key, fmt::format("item {}: expected {}, got {}", i + 1, range_phrase(lo, hi), describe(item)));
    items.push_back(parsed);
  }
  return items;
}

std::vector<double> ConfigReader::number_list(const std::string& key, double lo, double hi, std::vector<double> fallback) {
  const YAML::Node value = lookup(key);
  if (!value.IsDefined()) return fallback;
  if (!value.IsSequence()) fail(key, fmt::format("expected a list of numbers in [{}, {}], got {}", lo, hi, describe(value)));
  std::vector<double> items;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const YAML::Node item = value[i];
    double parsed = 0;
    bool ok = item.IsScalar();
    if (ok) {
      const std::string& s = item.Scalar();
      char* end = nullptr;
      parsed = std::strtod(s.c_str(), &end);
      ok = !s.empty() && end == s.c_str() + s.size() && std::isfinite(parsed);
    }
    if (!ok || parsed < lo || parsed > hi)
      fail(key, fmt::format("item {}: expected a number in [{}, {}], got {}", i + 1, lo, hi, describe(item)));
    items.push_back(parsed);
  }
  return items;
}

bool ConfigReader::is_word(const std::string& key, const std::string& word) {
  const YAML::Node value = lookup(key);
  return value.IsDefined() && value.IsScalar() && value.Scalar() == word;
}

void ConfigReader::finish() const {
  if (!node_.IsMap()) return;
  std::set<std::string> seen;
  for (const auto& entry : node_) {
    const std::string key = entry.first.Scalar();
    if (!seen.insert(key).second) fail(key, "duplicate key");
    if (known_.count(key) == 0) {
      std::string hint;
      std::size_t best = 3;
      for (const auto& candidate : known_) {
        const std::size_t d = edit_distance(key, candidate);
        if (d < best) {
          best = d;
          hint = candidate;
        }
      }
      std::vector<std::string> all(known_.begin(), known_.end());
      fail(key, hint.empty() ? fmt::format("unknown key (known keys here: {})", join(all))
                             : fmt::format("unknown key (did you mean '{}'?)", hint));
    }
  }
}

void check_yaml_text(const std::string& text, const std::string& where) {
  int line = 1;
  auto fail = [&](std::size_t at, const char* what) {
    throw ConfigError(fmt::format("{}:{}: byte 0x{:02x} at offset {}: {}; a configuration is UTF-8 text", where, line,
                                  static_cast<unsigned char>(text[at]), at, what));
  };
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c == '\n') ++line;
      else if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) fail(i, "a control character");
      ++i;
      continue;
    }
    // A UTF-8 sequence: its lead byte gives its length, each continuation
    // byte is 10xxxxxx; overlong forms and surrogates are not text.
    const int length = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (length == 0 || i + static_cast<std::size_t>(length) > text.size()) fail(i, "not valid UTF-8");
    std::uint32_t code = c & (0x7fu >> length);
    for (int k = 1; k < length; ++k) {
      const auto b = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
      if ((b & 0xc0) != 0x80) fail(i, "not valid UTF-8");
      code = (code << 6) | (b & 0x3fu);
    }
    if ((length == 3 && (code < 0x800 || (code >= 0xd800 && code <= 0xdfff))) || (length == 4 && (code < 0x10000 || code > 0x10ffff)))
      fail(i, "not valid UTF-8");
    i += static_cast<std::size_t>(length);
  }
}

void apply_override(YAML::Node& root, const std::string& assignment, ConfigSource& source) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError(fmt::format("-p {}: expected key.path=value", assignment));
  const std::string path = assignment.substr(0, eq);
  const std::string raw = assignment.substr(eq + 1);
  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    const auto dot = path.find('.', start);
    parts.push_back(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  for (const auto& part : parts)
    if (part.empty()) throw ConfigError(fmt::format("-p {}: empty component in key path '{}'", assignment, path));

  check_yaml_text(raw, "-p " + assignment);
  YAML::Node value;
  try {
    value = raw.empty() ? YAML::Node(YAML::NodeType::Null) : YAML::Load(raw);
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("-p {}: {}: value is not valid YAML: {}", assignment, path, e.msg));
  }
  YAML::Node current = root;
  std::string walked;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    walked += (walked.empty() ? "" : ".") + parts[i];
    YAML::Node next = current[parts[i]];
    if (!next.IsDefined() || next.IsNull()) {
      current[parts[i]] = YAML::Node(YAML::NodeType::Map);
      next.reset(current[parts[i]]);
    } else if (!next.IsMap()) {
      throw ConfigError(fmt::format("-p {}: {}: is not a section, cannot set '{}' inside it", assignment, walked, path));
    }
    current.reset(next);
  }
  current[parts.back()] = value;
  source.overrides[path] = "-p " + assignment;
}

}  // namespace isimdl
