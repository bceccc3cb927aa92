#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/error.h"

namespace isimdl {

// An on-chip SRAM: an array of words with a configured capacity and bank
// count, counting every read and write. Words are plain members so that
// faults can be injected into them.
template <typename Word>
class SramBuffer {
 public:
  void configure(std::string name, std::int64_t capacity_words, int banks) {
    name_ = std::move(name);
    capacity_ = capacity_words;
    banks_ = banks;
  }
  // Sizes the array for the operand of one layer (at most the capacity,
  // unless the operand is tiled through DRAM: see docs/hardware.md).
  void resize(std::size_t words) { words_.assign(words, Word{}); }
  void reset_counters() { reads_ = writes_ = 0; }

  // An address outside the words sized for the layer is a model error,
  // never a silent read or write past them: it throws, naming the buffer.
  Word read(std::size_t address) {
    if (address >= words_.size()) out_of_range("read", address);
    ++reads_;
    return words_[address];
  }
  // Counts n reads made directly through words() (a vector read in one pass).
  void count_reads(std::int64_t n) { reads_ += n; }
  void write(std::size_t address, Word value) {
    if (address >= words_.size()) out_of_range("write", address);
    ++writes_;
    words_[address] = value;
  }
  // Bulk load from DRAM (counted as writes).
  void load(const std::vector<Word>& values) {
    words_ = values;
    writes_ += static_cast<std::int64_t>(values.size());
  }

  const std::string& name() const { return name_; }
  std::int64_t capacity_words() const { return capacity_; }
  int banks() const { return banks_; }
  int bank_of(std::size_t address) const { return static_cast<int>(address % static_cast<std::size_t>(banks_)); }
  std::int64_t reads() const { return reads_; }
  std::int64_t writes() const { return writes_; }
  std::size_t size() const { return words_.size(); }
  Word* data() { return words_.data(); }
  const std::vector<Word>& words() const { return words_; }
  std::vector<Word>& words() { return words_; }

 private:
  [[noreturn]] __attribute__((cold, noinline)) void out_of_range(const char* what, std::size_t address) const {
    throw Error(name_ + ": " + what + " of word " + std::to_string(address) + " outside its " +
                std::to_string(words_.size()) + " words (capacity " + std::to_string(capacity_) + ")");
  }
  std::string name_;
  std::int64_t capacity_ = 0;
  int banks_ = 1;
  std::vector<Word> words_;
  std::int64_t reads_ = 0, writes_ = 0;
};

}  // namespace isimdl
