#include "hw/register_storage.h"

#include <fmt/format.h>

#include "models/error.h"

namespace isimdl {

void RegisterStorage::bind(RegisterGroup group, std::vector<FieldStorage> fields) {
  const RegisterInfo& info = register_info(group);
  auto& slot = fields_.at(static_cast<std::size_t>(group));
  if (!slot.empty()) throw Error(fmt::format("register storage of {} is bound twice", info.group_name));
  if (fields.size() != info.fields.size())
    throw Error(fmt::format("register storage of {}: {} fields bound, the kind has {}", info.group_name, fields.size(),
                            info.fields.size()));
  slot = std::move(fields);
}

const std::vector<FieldStorage>& RegisterStorage::fields(RegisterGroup group) const {
  const auto& f = fields_.at(static_cast<std::size_t>(group));
  if (f.empty()) throw Error(fmt::format("register {} has no storage in the model", register_info(group).group_name));
  return f;
}

std::int64_t RegisterStorage::instances(RegisterGroup group) const {
  return static_cast<std::int64_t>(fields(group).front().size());
}

std::int64_t RegisterStorage::read(RegisterGroup group, std::int64_t index) const {
  const auto& f = fields(group);
  std::vector<std::int64_t> values;
  values.reserve(f.size());
  for (const FieldStorage& s : f) values.push_back(s.read(static_cast<std::size_t>(index)));
  return register_info(group).pack(values);
}

void RegisterStorage::write(RegisterGroup group, std::int64_t index, std::int64_t value) const {
  const RegisterInfo& info = register_info(group);
  const auto& f = fields(group);
  for (std::size_t i = 0; i < f.size(); ++i) f[i].write(static_cast<std::size_t>(index), info.unpack(value, i));
}

std::int64_t RegisterStorage::read_field(RegisterGroup group, std::size_t field, std::int64_t index) const {
  return fields(group).at(field).read(static_cast<std::size_t>(index));
}

}  // namespace isimdl
