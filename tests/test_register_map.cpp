// The register map (hw/register_map.h, hw/kinds/): its documentation, its
// bit layouts and the model's storage bindings.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "hw/accelerator.h"
#include "hw/fault_injector.h"
#include "hw/register_kind.h"

namespace isimdl {
namespace {

// docs/hardware.md's register table lists every kind of the map, in map
// order, with its width, trace names (fields) and instance count.
TEST(RegisterMap, DocsTableMatchesTheMap) {
  std::ifstream in(std::string(ISIMDL_SOURCE_DIR) + "/docs/hardware.md");
  ASSERT_TRUE(in) << "docs/hardware.md";
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const std::string table = doc.substr(doc.find("| group (`campaign.groups`) |"));
  // Rows "| `group` | trace | bits | instances | role |", until the table ends
  // (split by hand: std::regex warns under GCC 12's sanitizer build).
  std::istringstream lines(table);
  std::string line;
  std::getline(lines, line);  // header
  std::getline(lines, line);  // |---|
  std::vector<std::string> groups;
  while (std::getline(lines, line) && line.rfind("| `", 0) == 0) {
    std::vector<std::string> cells;
    std::size_t from = 1;
    for (std::size_t bar; (bar = line.find(" |", from)) != std::string::npos; from = bar + 2)
      cells.push_back(line.substr(from + 1, bar - from - 1));
    ASSERT_GE(cells.size(), 5u) << line;
    const std::string name = cells[0].substr(1, cells[0].size() - 2);  // without the backquotes
    const RegisterInfo& info = register_info(register_group_from_name(name));
    groups.push_back(name);
    EXPECT_EQ(std::stoi(cells[2]), info.width) << info.group_name;
    const std::string trace = cells[1], instances = cells[3];
    if (!info.traced()) {
      EXPECT_EQ(trace, "—") << info.group_name;
    } else {
      for (const RegisterField& f : info.fields)
        EXPECT_NE(trace.find(f.name), std::string::npos) << info.group_name << " trace names miss field " << f.name;
    }
    const char* expected = nullptr;
    switch (info.placement) {
      case Placement::kPe: expected = "R·C"; break;
      case Placement::kSkewStage: expected = "R(R−1)/2"; break;
      case Placement::kDeskewStage: expected = "C(C−1)/2"; break;
      case Placement::kColumn: expected = "C"; break;
      case Placement::kAccumulatorWord: expected = "m_tile·C"; break;
      default: break;
    }
    if (expected) {
      EXPECT_EQ(instances, expected) << info.group_name;
    }
  }
  std::vector<std::string> names = register_group_names();
  EXPECT_EQ(groups, names) << "the table must list every group, in the map's order";
}

// Bit layouts: fields cover the word; packing and unpacking round-trip; a
// packed word's tag bits weigh like its operand's sign bit.
TEST(RegisterMap, BitLayoutsAreStatedOnce) {
  for (const RegisterInfo& info : register_map()) {
    int width = 0;
    for (const RegisterField& f : info.fields) {
      EXPECT_EQ(f.lsb, width) << info.group_name;
      width += f.width;
    }
    EXPECT_EQ(width, info.width) << info.group_name;
    EXPECT_LE(info.width, 32) << info.group_name;
  }
  const RegisterInfo& skew = register_info(RegisterGroup::kSkew);
  const std::int64_t word = skew.pack({-3, 1, 0});
  EXPECT_EQ(word, 0x1fd);  // a = 0xfd, valid = 1 (bit 8), propagate = 0
  EXPECT_EQ(skew.unpack(word, 0), -3);
  EXPECT_EQ(skew.unpack(word, 1), 1);
  EXPECT_EQ(skew.unpack(word, 2), 0);
  EXPECT_EQ(skew.significance(7), 7);
  EXPECT_EQ(skew.significance(8), 7);
  EXPECT_EQ(skew.significance(9), 7);
  EXPECT_EQ(register_info(RegisterGroup::kPePsum).normalize(0x80000000u), -2147483648LL);
  EXPECT_EQ(register_info(RegisterGroup::kPeA).normalize(0x1ff), -1);
  EXPECT_EQ(register_info(RegisterGroup::kPeValid).normalize(3), 1);
  EXPECT_EQ(pe_register_bits(), 8 + 32 + 8 + 8 + 8 + 1 + 1);
  EXPECT_EQ(register_info(RegisterGroup::kDeskew).trace_name(2, 0, 4), "array.deskew_0_2.psum");
  EXPECT_EQ(register_info(RegisterGroup::kSkew).trace_name(2, 1, 4), "array.skew_2_1.valid");
  EXPECT_EQ(register_info(RegisterGroup::kOutputStage).trace_name(3, 0, 4), "output_stage.acc_3");
  EXPECT_EQ(register_info(RegisterGroup::kPeW1).trace_name(6, 0, 4), "array.pe_1_2.w1");
}

// Every kind's storage is bound in the SystemC model, with as many
// instances as the map counts for the layer, and the injector's word is the
// packed fields: writing the skew word sets the three registers it packs.
TEST(RegisterMap, EveryKindIsBoundInTheModel) {
  Accelerator& accelerator = shared_accelerator();
  ArrayConfig array;
  array.rows = 4;
  array.cols = 3;
  accelerator.configure(array);
  const LayerJob job = random_gemm_job(6, 5, 4, 3);
  accelerator.run_layer(job);
  const LayerSchedule schedule = make_layer_schedule(job.gemm, array);
  const RegisterCounts counts = RegisterCounts::of_layer(schedule, static_cast<std::int64_t>(job.input.size()));
  for (const RegisterInfo& info : register_map()) {
    EXPECT_EQ(register_instance_count(accelerator, info.group), counts.instances(info.group)) << info.group_name;
    EXPECT_EQ(counts.instances(info.group) > 0, info.present(array.dataflow)) << info.group_name;
    if (!info.present(array.dataflow)) continue;  // pe_out: output-stationary only
    const std::int64_t last = counts.instances(info.group) - 1;
    const std::int64_t value = info.normalize(0x2a5);
    write_register(accelerator, info.group, last, value);
    EXPECT_EQ(read_register(accelerator, info.group, last), value) << info.group_name;
  }
  const std::size_t i = SkewBuffer::index(3, 2);
  write_register(accelerator, RegisterGroup::kSkew, static_cast<std::int64_t>(i), 0x27f);  // a 0x7f, valid 0, propagate 1
  EXPECT_EQ(accelerator.array().skew.a[i], 0x7f);
  EXPECT_EQ(accelerator.array().skew.valid[i], 0);
  EXPECT_EQ(accelerator.array().skew.propagate[i], 1);
  EXPECT_THROW(read_register(accelerator, RegisterGroup::kDeskew, counts.instances(RegisterGroup::kDeskew)), Error);
  // The output-stationary cell: no weight registers, an out chain.
  array.dataflow = Dataflow::kOutputStationary;
  accelerator.configure(array);
  accelerator.run_layer(job);
  const RegisterCounts os = RegisterCounts::of_layer(make_layer_schedule(job.gemm, array), static_cast<std::int64_t>(job.input.size()));
  for (const RegisterInfo& info : register_map()) {
    EXPECT_EQ(register_instance_count(accelerator, info.group), os.instances(info.group)) << info.group_name << " os";
    EXPECT_EQ(os.instances(info.group) > 0, info.present(array.dataflow)) << info.group_name << " os";
  }
  EXPECT_EQ(os.instances(RegisterGroup::kPeW0), 0);
  EXPECT_EQ(os.instances(RegisterGroup::kPeOut), 12);
  write_register(accelerator, RegisterGroup::kPeOut, 11, -5);
  EXPECT_EQ(accelerator.array().out[11], -5);
  EXPECT_EQ(pe_register_bits(Dataflow::kOutputStationary), 8 + 32 + 8 + 1 + 1 + 32);
}

}  // namespace
}  // namespace isimdl
