#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "hw/register_map.h"

namespace isimdl {

// Where the SystemC model keeps one field of a register kind's instances: a
// std::vector of the field's values, instance i at element i. The vector is
// held by address (the PE array swaps its vectors' contents at every edge,
// never the vector objects).
class FieldStorage {
 public:
  template <class T>
  static FieldStorage of(std::vector<T>& values) {
    FieldStorage f;
    f.size_ = [&values] { return values.size(); };
    f.read_ = [&values](std::size_t i) { return static_cast<std::int64_t>(values[i]); };
    f.write_ = [&values](std::size_t i, std::int64_t v) { values[i] = static_cast<T>(v); };
    return f;
  }
  std::size_t size() const { return size_(); }
  std::int64_t read(std::size_t i) const { return read_(i); }
  void write(std::size_t i, std::int64_t v) const { write_(i, v); }

 private:
  std::function<std::size_t()> size_;
  std::function<std::int64_t(std::size_t)> read_;
  std::function<void(std::size_t, std::int64_t)> write_;
};

// Every register kind's storage in the SystemC model, bound once by the
// block that holds it (PeArray, AccumulatorBuffer, OutputStage, and the
// Accelerator for its SRAM buffers). The fault injector and the tracer reach
// registers only through here, and pack and unpack words with the kind's
// fields (hw/register_map.h): a kind's bit layout is stated once.
class RegisterStorage {
 public:
  // One FieldStorage per field of the kind's word. Throws Error when the
  // count differs from the kind's fields or the kind is bound twice.
  void bind(RegisterGroup group, std::vector<FieldStorage> fields);

  // Instances the model has now (the buffers are sized per layer).
  std::int64_t instances(RegisterGroup group) const;
  // The word of instance `index`, packed from its fields as the register
  // reads back (docs/hardware.md). Valid between clock edges.
  std::int64_t read(RegisterGroup group, std::int64_t index) const;
  // Writes the word's fields. The index must exist.
  void write(RegisterGroup group, std::int64_t index, std::int64_t value) const;
  // One field of instance `index` (what a trace shows).
  std::int64_t read_field(RegisterGroup group, std::size_t field, std::int64_t index) const;

 private:
  const std::vector<FieldStorage>& fields(RegisterGroup group) const;
  std::array<std::vector<FieldStorage>, kRegisterGroups> fields_;
};

}  // namespace isimdl
