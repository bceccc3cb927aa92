#include "campaign/fault_record.h"

#include <fmt/format.h>

#include <cstring>

#include "models/error.h"

namespace isimdl {
namespace {

using Type = FaultColumn::Type;
using Format = FaultColumn::Format;

FaultColumn column(std::string name, std::string sql, Type type, Format format) {
  FaultColumn c;
  c.name = std::move(name);
  c.sql = std::move(sql);
  c.type = type;
  c.format = format;
  return c;
}

// An integer column read and written through a member (or a field of one).
template <class Get, class Set>
FaultColumn integer(std::string name, std::string sql, Get get, Set set) {
  FaultColumn c = column(std::move(name), std::move(sql), Type::kInteger, Format::kInteger);
  c.get = [get](const FaultRecord& r) { return FaultValue{static_cast<std::int64_t>(get(r)), 0.0, {}}; };
  c.set = [set](FaultRecord& r, const FaultValue& v) { set(r, v.integer); };
  return c;
}

// An int member of the record.
FaultColumn int_member(std::string name, std::string sql, int FaultRecord::*member) {
  return integer(std::move(name), std::move(sql), [member](const FaultRecord& r) { return r.*member; },
                 [member](FaultRecord& r, std::int64_t v) { r.*member = static_cast<int>(v); });
}

// Count i of a per-outcome or per-death-point array, nested in JSON under
// `group` with key `key`.
template <std::size_t N>
FaultColumn count_column(const std::string& name, const std::string& group, const std::string& key,
                         std::array<int, N> FaultRecord::*counts, std::size_t i) {
  FaultColumn c = integer(name, name + " INTEGER NOT NULL", [counts, i](const FaultRecord& r) { return (r.*counts)[i]; },
                          [counts, i](FaultRecord& r, std::int64_t v) { (r.*counts)[i] = static_cast<int>(v); });
  c.json_group = group;
  c.json_name = key;
  return c;
}

FaultColumn real(std::string name, std::string sql, Format format, double FaultRecord::*member) {
  FaultColumn c = column(std::move(name), std::move(sql), Type::kReal, format);
  c.get = [member](const FaultRecord& r) { return FaultValue{0, r.*member, {}}; };
  c.set = [member](FaultRecord& r, const FaultValue& v) { r.*member = v.real; };
  return c;
}

}  // namespace

std::string FaultColumn::csv_text(const FaultRecord& r) const {
  const FaultValue v = get(r);
  switch (format) {
    case Format::kInteger: return std::to_string(v.integer);
    case Format::kFixed6: return fmt::format("{:.6f}", v.real);
    case Format::kShortest: return fmt::format("{}", v.real);
    case Format::kName: return v.text;
    case Format::kFlag: return v.integer ? "1" : "0";
  }
  return "";
}

std::string FaultColumn::json_text(const FaultRecord& r) const {
  if (format == Format::kName) return "\"" + get(r).text + "\"";  // register group and kind names need no escaping
  if (format == Format::kFlag) return get(r).integer ? "true" : "false";
  return csv_text(r);
}

const std::vector<FaultColumn>& fault_columns() {
  static const std::vector<FaultColumn> columns = [] {
    using R = FaultRecord;
    std::vector<FaultColumn> c;
    c.push_back(integer("fault_index", "fault_index INTEGER PRIMARY KEY", [](const R& r) { return r.fault_index; },
                        [](R& r, std::int64_t v) { r.fault_index = v; }));
    c.push_back(integer("layer", "layer INTEGER NOT NULL", [](const R& r) { return r.site.layer; },
                        [](R& r, std::int64_t v) { r.site.layer = static_cast<int>(v); }));
    c.push_back(integer("cycle", "cycle INTEGER NOT NULL", [](const R& r) { return r.site.cycle; },
                        [](R& r, std::int64_t v) { r.site.cycle = v; }));
    {
      FaultColumn g = column("group", "grp TEXT NOT NULL", Type::kText, Format::kName);
      g.get = [](const R& r) { return FaultValue{0, 0.0, register_info(r.site.group).group_name}; };
      g.set = [](R& r, const FaultValue& v) { r.site.group = register_group_from_name(v.text); };
      c.push_back(g);
    }
    c.push_back(integer("index", "reg_index INTEGER NOT NULL", [](const R& r) { return r.site.index; },
                        [](R& r, std::int64_t v) { r.site.index = v; }));
    c.push_back(integer("bit", "bit INTEGER NOT NULL", [](const R& r) { return r.site.bit; },
                        [](R& r, std::int64_t v) { r.site.bit = static_cast<int>(v); }));
    {
      FaultColumn k = column("kind", "kind TEXT NOT NULL", Type::kText, Format::kName);
      k.get = [](const R& r) { return FaultValue{0, 0.0, to_string(r.site.kind)}; };
      k.set = [](R& r, const FaultValue& v) { r.site.kind = fault_kind_from_string(v.text); };
      c.push_back(k);
    }
    c.push_back(integer("width", "width INTEGER NOT NULL", [](const R& r) { return r.site.width; },
                        [](R& r, std::int64_t v) { r.site.width = static_cast<int>(v); }));
    c.push_back(integer("duration", "duration INTEGER NOT NULL", [](const R& r) { return r.site.duration; },
                        [](R& r, std::int64_t v) { r.site.duration = v; }));
    c.push_back(integer("value_before", "value_before INTEGER", [](const R& r) { return r.injection.before; },
                        [](R& r, std::int64_t v) { r.injection.before = v, r.injection.injected = true; }));
    c.push_back(integer("value_after", "value_after INTEGER", [](const R& r) { return r.injection.after; },
                        [](R& r, std::int64_t v) { r.injection.after = v; }));
    for (int o = 0; o < kOutcomeCount; ++o) {
      const std::string name = to_string(static_cast<Outcome>(o));
      c.push_back(count_column(name, "outcomes", name, &R::outcomes, static_cast<std::size_t>(o)));
    }
    c.push_back(int_member("sim_error", "sim_error INTEGER NOT NULL", &R::sim_errors));
    for (int d = 0; d + 1 < kDeathPointCount; ++d) {  // the last death point is "n/a"
      const std::string point = to_string(static_cast<DeathPoint>(d));
      c.push_back(count_column("died_" + point, "died", point, &R::died, static_cast<std::size_t>(d)));
    }
    c.push_back(int_member("images", "images INTEGER NOT NULL", &R::images));
    c.push_back(int_member("correct", "correct INTEGER NOT NULL", &R::correct));
    c.back().json = false;
    c.push_back(int_member("golden_correct", "golden_correct INTEGER NOT NULL", &R::golden_correct));
    c.back().json = false;
    c.push_back(real("accuracy", "accuracy REAL NOT NULL", Format::kFixed6, &R::accuracy));
    c.push_back(real("drop", "drop_rel REAL NOT NULL", Format::kFixed6, &R::drop));
    c.push_back(integer("critical", "critical INTEGER NOT NULL", [](const R& r) { return r.critical ? 1 : 0; },
                        [](R& r, std::int64_t v) { r.critical = v != 0; }));
    c.back().format = Format::kFlag;
    c.push_back(real("weight", "weight REAL NOT NULL", Format::kShortest, &R::weight));
    {
      FaultColumn e = column("error", "error TEXT", Type::kText, Format::kName);
      e.csv = e.json = false;
      e.get = [](const R& r) { return FaultValue{0, 0.0, r.error}; };
      e.set = [](R& r, const FaultValue& v) { r.error = v.text; };
      c.push_back(e);
    }
    return c;
  }();
  return columns;
}

std::string fault_csv_header() {
  std::string text;
  for (const FaultColumn& c : fault_columns())
    if (c.csv) text += (text.empty() ? "" : ",") + c.name;
  return text + "\n";
}

std::string fault_csv_row(const FaultRecord& r) {
  std::string text;
  for (const FaultColumn& c : fault_columns())
    if (c.csv) text += (text.empty() ? "" : ",") + c.csv_text(r);
  return text + "\n";
}

std::string fault_json_object(const FaultRecord& r) {
  std::string text = "{";
  std::string group;  // the nested object open now
  bool first = true, first_in_group = true;
  for (const FaultColumn& c : fault_columns()) {
    if (!c.json) continue;
    if (c.json_group != group) {
      if (!group.empty()) text += "}";
      group = c.json_group;
      if (!group.empty()) {
        text += fmt::format("{}\"{}\": {{", first ? "" : ", ", group);
        first = false;
        first_in_group = true;
      }
    }
    if (group.empty()) {
      text += fmt::format("{}\"{}\": {}", first ? "" : ", ", c.name, c.json_text(r));
      first = false;
    } else {
      text += fmt::format("{}\"{}\": {}", first_in_group ? "" : ", ", c.json_name, c.json_text(r));
      first_in_group = false;
    }
  }
  if (!group.empty()) text += "}";
  return text + "}";
}

void append_record(std::string& bytes, const FaultRecord& r) {
  for (const FaultColumn& c : fault_columns()) {
    const FaultValue v = c.get(r);
    switch (c.type) {
      case FaultColumn::Type::kInteger: bytes.append(reinterpret_cast<const char*>(&v.integer), sizeof v.integer); break;
      case FaultColumn::Type::kReal: bytes.append(reinterpret_cast<const char*>(&v.real), sizeof v.real); break;
      case FaultColumn::Type::kText: {
        const auto n = static_cast<std::uint32_t>(v.text.size());
        bytes.append(reinterpret_cast<const char*>(&n), sizeof n);
        bytes.append(v.text);
        break;
      }
    }
  }
}

FaultRecord read_record(const std::string& bytes, std::size_t& offset) {
  auto take = [&](void* to, std::size_t n) {
    if (bytes.size() - offset < n || offset > bytes.size())
      throw Error(fmt::format("a fault record is cut short after {} of {} bytes", offset, bytes.size()));
    std::memcpy(to, bytes.data() + offset, n);
    offset += n;
  };
  FaultRecord r;
  for (const FaultColumn& c : fault_columns()) {
    FaultValue v;
    switch (c.type) {
      case FaultColumn::Type::kInteger: take(&v.integer, sizeof v.integer); break;
      case FaultColumn::Type::kReal: take(&v.real, sizeof v.real); break;
      case FaultColumn::Type::kText: {
        std::uint32_t n = 0;
        take(&n, sizeof n);
        v.text.resize(n);
        if (n > 0) take(v.text.data(), n);
        break;
      }
    }
    c.set(r, v);
  }
  return r;
}

}  // namespace isimdl
