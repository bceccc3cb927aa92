#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "hw/array_config.h"

namespace isimdl {

// The one register map of the accelerator. Each register kind is described
// once, in its file under hw/kinds/ (description, bit layout, instances, and
// — in hw/register_kind.h — what it holds at each edge, when it is live and
// what a change does); the SystemC block that holds it binds its storage
// (hw/register_storage.h). Fault injection, tracing, the sampler's site
// space, the register oracle and docs/hardware.md all read it from here: a
// kind added there is injectable, traceable, sampled and documented.
enum class RegisterGroup {
  kPeA,
  kPePsum,
  kPeW0,
  kPeW1,
  kPeD,
  kPePropagate,
  kPeValid,
  kSkew,
  kDeskew,
  kAccumulator,
  kIfmapBuffer,
  kWeightBuffer,
  kOutputBuffer,
  kOutputStage,
  kPeOut,
};
constexpr int kRegisterGroups = static_cast<int>(RegisterGroup::kPeOut) + 1;

// Where the instances of a register kind are and how they are numbered
// (docs/hardware.md, "Registers").
enum class Placement {
  kPe,             // one per PE: index r * C + c
  kSkewStage,      // input skew: row r has r stages, index r(r-1)/2 + s
  kDeskewStage,    // output de-skew: column c has C-1-c stages, numbered column by column
  kColumn,         // one per column: index c
  kAccumulatorWord,  // m_tile * C words: index m_local * C + c
  kIfmapWord,      // the layer input, C x H x W
  kWeightWord,     // the weights that exist (GemmShape::weight_word)
  kOutputWord,     // the layer output, [n][m]
};

// One bit field of a register word (the skew word packs three); the word's
// fields are listed from bit 0 up and cover it without gaps.
struct RegisterField {
  const char* name;  // as traces name it: array.pe_3_5.psum, array.skew_2_1.valid
  int lsb;
  int width;
  bool is_signed;
};

struct RegisterInfo {
  RegisterGroup group;
  const char* group_name;  // as campaign.groups names it
  Placement placement;
  std::vector<RegisterField> fields;
  const char* description;
  int width = 0;  // bits of the word: the sum of the fields' widths

  // What the fault simulator's death points call the place a masked change
  // of this register died: in the array (operands, partial sums, and the
  // buffers that feed the array) or in the accumulator path.
  bool array_side = true;
  // The word holds an int8 layer output, not an operand or a sum: a change
  // replaces that output (output_buffer).
  bool holds_output = false;
  // The word holds an operand value itself (not a tag, not a packed word):
  // a change makes the MACs read another value.
  bool holds_operand_value = false;
  // What a value of this register is, for explanations ("the valid tag of").
  const char* role = "";
  // The saboteur code of tests/rtl/pe_array.v, or -1 when the RTL array does
  // not have the register.
  int rtl_saboteur = -1;
  // The dataflows whose array has the register (bit 1 << Dataflow): the
  // weight registers only where an operand is held, the out chain only
  // output-stationary.
  unsigned dataflows = 0b111;
  bool present(Dataflow dataflow) const { return (dataflows >> static_cast<unsigned>(dataflow)) & 1u; }

  // An ifmap, weight or output SRAM buffer word (not a flip-flop of the
  // array, its feeders or the accumulator path).
  bool is_buffer_word() const {
    return placement == Placement::kIfmapWord || placement == Placement::kWeightWord ||
           placement == Placement::kOutputWord;
  }
  // The word reads back unsigned (1-bit tags and packed words) or
  // sign-extended (a single signed field).
  bool is_unsigned() const { return fields.size() > 1 || !fields.front().is_signed; }
  // The word of the given field values (from field 0 up; each truncated to
  // its width), as the register reads it back.
  std::int64_t pack(const std::vector<std::int64_t>& values) const;
  // The value of field `field` in a word (sign-extended for a signed field).
  std::int64_t unpack(std::int64_t word, std::size_t field) const;
  // The raw bits of the word as the register reads them back.
  std::int64_t normalize(std::uint64_t raw) const;
  // How much bit `bit` of the word weighs for bit weighting: its position in
  // its field; a one-bit tag packed beside a wider field weighs like that
  // field's top bit.
  int significance(int bit) const;
  // Traced under a name (the array's and the output stage's registers; SRAM
  // words, the accumulator's included, are not).
  bool traced() const { return !is_buffer_word() && placement != Placement::kAccumulatorWord; }
  // Trace name of field `field` of instance `index` on an array of `cols`
  // columns: "array.pe_3_5.psum", "array.skew_2_1.valid",
  // "array.deskew_0_2.psum", "output_stage.acc_3".
  std::string trace_name(std::int64_t index, std::size_t field, int cols) const;
};

// The SRAM buffer word groups (ifmap, weight, output), as opposed to the
// flip-flops of the array, its feeders and the accumulator path.
bool is_sram_buffer(RegisterGroup group);

// Every architectural register kind, in RegisterGroup order.
const std::vector<RegisterInfo>& register_map();
const RegisterInfo& register_info(RegisterGroup group);
const std::vector<std::string>& register_group_names();
std::vector<RegisterGroup> all_register_groups();
RegisterGroup register_group_from_name(const std::string& name);  // throws Error

// How many instances of each register group one layer's run has: the array
// and the sizes of the buffers the layer uses.
struct LayerSchedule;
struct ArrayConfig;
struct RegisterCounts {
  int rows = 0;
  int cols = 0;
  Dataflow dataflow = Dataflow::kWeightStationary;  // which kinds the array has
  std::int64_t accumulator_words = 0;
  std::int64_t ifmap_words = 0;
  std::int64_t weight_words = 0;
  std::int64_t output_words = 0;

  // A layer with this schedule whose input has `input_words` elements.
  static RegisterCounts of_layer(const LayerSchedule& schedule, std::int64_t input_words);
  // The hardware itself: the array and the accumulator at its configured
  // capacity (the SRAM buffers count no words: their size is per layer).
  static RegisterCounts of_array(const ArrayConfig& array);
  std::int64_t instances(RegisterGroup group) const;
};

// Flip-flop bits per PE (every kind placed per PE that the dataflow's cell has).
int pe_register_bits(Dataflow dataflow = Dataflow::kWeightStationary);

// Index decoding of the array placements.
std::pair<int, int> skew_row_stage(std::int64_t index);                // (row, stage)
std::pair<int, int> deskew_column_stage(std::int64_t index, int cols);  // (column, stage)

// The one check of a fault site against a layer's register instances and
// run: the instance, the bits (a `bits`-wide fault at `bit`) and the cycle
// exist. Throws Error naming what does not (`where` prefixes the message,
// e.g. "layer 3: ").
void check_register_site(RegisterGroup group, std::int64_t index, int bit, int bits, std::int64_t cycle,
                         std::int64_t instances, std::int64_t cycles, const std::string& where = "");
// The same without the cycle (for a caller that stops the run at it).
void check_register_bits(RegisterGroup group, std::int64_t index, int bit, int bits, std::int64_t instances,
                         const std::string& where = "");

}  // namespace isimdl
