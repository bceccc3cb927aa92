// isimdl trace-diff's reader and comparison (reporting/trace_diff.h).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/test_dir.h"
#include "models/error.h"
#include "reporting/trace_diff.h"

namespace isimdl {
namespace {

std::string temp_file(const std::string& name, const std::string& text) {
  const std::string path = (isimdl::test_dir() / ("isimdl_trace_diff_" + name)).string();
  std::ofstream(path) << text;
  return path;
}

TraceDiffResult diff(const std::string& a, const std::string& b, TraceDiffOptions o = {}) {
  auto ra = open_trace(a);
  auto rb = open_trace(b);
  return diff_traces(*ra, *rb, o);
}

// The message open_trace(path) throws ("" when it opens).
std::string open_error(const std::string& path) {
  try {
    open_trace(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const char* kTrace =
    "cycle,register,value\n"
    "0,array.pe_0_0.a,0\n0,array.pe_0_0.psum,0\n0,output_stage.acc_0,0\n"
    "1,array.pe_0_0.a,-5\n1,array.pe_0_0.psum,20\n1,output_stage.acc_0,0\n"
    "2,array.pe_0_0.a,3\n2,array.pe_0_0.psum,-12\n2,output_stage.acc_0,7\n";

TEST(TraceDiff, EqualTracesAreIdentical) {
  const std::string a = temp_file("a.csv", kTrace);
  const TraceDiffResult r = diff(a, a);
  EXPECT_TRUE(r.equal());
  EXPECT_EQ(r.cycles_compared, 3);
  EXPECT_EQ(r.values_compared, 9);
}

TEST(TraceDiff, NamesTheFirstDivergenceAndCountsTheRest) {
  std::string text = kTrace;
  text.replace(text.find("1,array.pe_0_0.psum,20"), 22, "1,array.pe_0_0.psum,21");
  text.replace(text.find("2,output_stage.acc_0,7"), 22, "2,output_stage.acc_0,9");
  const std::string a = temp_file("a.csv", kTrace), b = temp_file("b.csv", text);
  TraceDiffResult r = diff(a, b);
  ASSERT_EQ(r.differences, 2);
  EXPECT_EQ(r.first[0].cycle, 1);
  EXPECT_EQ(r.first[0].register_name, "array.pe_0_0.psum");
  EXPECT_EQ(r.first[0].a, "20");
  EXPECT_EQ(r.first[0].b, "21");
  // Only the array's registers: the output stage difference is not compared.
  TraceDiffOptions only_array;
  only_array.prefixes = {"array."};
  EXPECT_EQ(diff(a, b, only_array).differences, 1);
  // A window that excludes cycle 1 leaves only the cycle-2 difference.
  TraceDiffOptions window;
  window.window_begin = 2;
  EXPECT_EQ(diff(a, b, window).differences, 1);
}

TEST(TraceDiff, AMissingCycleOrRegisterIsADifference) {
  std::string fewer = kTrace;
  fewer.erase(fewer.find("2,array.pe_0_0.a,3\n"), 19);
  const std::string a = temp_file("a.csv", kTrace), b = temp_file("b.csv", fewer);
  TraceDiffResult r = diff(a, b);
  ASSERT_EQ(r.differences, 1);
  EXPECT_EQ(r.first[0].b, "(absent)");
  const std::string shorter = temp_file("c.csv", std::string(kTrace).substr(0, std::string(kTrace).find("2,array")));
  r = diff(a, shorter);
  EXPECT_EQ(r.differences, 3);  // all of cycle 2
  EXPECT_EQ(r.first[0].cycle, 2);
}

TEST(TraceDiff, MalformedTracesNameFileAndLine) {
  const std::string bad_header = temp_file("h.csv", "cycle;register;value\n");
  EXPECT_NE(open_error(bad_header).find(bad_header + ":1:"), std::string::npos) << open_error(bad_header);
  const std::string bad_value = temp_file("v.csv", "cycle,register,value\n0,array.pe_0_0.a,1\n0,array.pe_0_0.psum,x\n");
  auto r = open_trace(bad_value);
  std::int64_t cycle = 0;
  std::map<std::string, std::int64_t> values;
  try {
    r->next(cycle, values);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(bad_value + ":3: value"), std::string::npos) << e.what();
  }
  const std::string descending = temp_file("d.csv", "cycle,register,value\n1,x,1\n0,x,1\n");
  auto d = open_trace(descending);
  EXPECT_THROW(d->next(cycle, values), Error);
  EXPECT_THROW(open_trace("/nonexistent/trace.csv"), Error);
}

// A CSV from a spreadsheet (UTF-8 byte-order mark, CRLF line ends) reads as
// the same trace; a wrong header is shown with its invisible bytes.
TEST(TraceDiff, ByteOrderMarkAndCrlfAreAccepted) {
  std::string crlf = "\xEF\xBB\xBF";
  for (char ch : std::string(kTrace)) crlf += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
  const std::string a = temp_file("plain.csv", kTrace), b = temp_file("bom.csv", crlf);
  EXPECT_TRUE(diff(a, b).equal());
  const std::string bad = temp_file("bad_header.csv", "cycle,register,value \nx\n");
  EXPECT_NE(open_error(bad).find("got \"cycle,register,value \""), std::string::npos) << open_error(bad);
}

// VCD identifier codes shared by several variables (legal VCD: one signal
// under several names) give every name the value; time that goes backwards
// and a timestamp out of range are errors naming the file.
TEST(TraceDiff, VcdSharedIdentifiersTimeAndTimestamps) {
  const std::string header =
      "$timescale 1ns $end\n$scope module top $end\n$scope module array $end\n"
      "$var wire 8 ! pe_0_0.a $end\n$var wire 8 ! pe_0_1.a $end\n$var wire 32 \" pe_0_0.psum $end\n"
      "$upscope $end\n$upscope $end\n$enddefinitions $end\n";
  const std::string vcd = temp_file("shared.vcd", header + "#0\nb101 !\nb1 \"\n#10\nb11111011 !\nb10 \"\n");
  const std::string csv = temp_file("shared.csv",
                                    "cycle,register,value\n0,array.pe_0_0.a,5\n0,array.pe_0_0.psum,1\n0,array.pe_0_1.a,5\n"
                                    "1,array.pe_0_0.a,-5\n1,array.pe_0_0.psum,2\n1,array.pe_0_1.a,-5\n");
  const TraceDiffResult r = diff(vcd, csv);
  EXPECT_TRUE(r.equal()) << (r.first.empty() ? "" : r.first[0].register_name);
  EXPECT_EQ(r.values_compared, 6);
  const std::string backwards = temp_file("backwards.vcd", header + "#10\nb1 !\n#5\nb0 !\n");
  EXPECT_NE(open_error(backwards).find(backwards + ": time goes backwards: #5 after #10"), std::string::npos) << open_error(backwards);
  const std::string huge = temp_file("huge.vcd", header + "#99999999999999999999999\nb1 !\n");
  EXPECT_NE(open_error(huge).find("is not a non-negative 64-bit integer"), std::string::npos) << open_error(huge);
}

// A VCD and a CSV written by the same run are the same trace (the VCD's
// `cycle` variable numbers its samples), signed values included.
TEST(TraceDiff, VcdAndCsvOfOneRunAreIdentical) {
  const auto dir = isimdl::test_dir() / "isimdl_trace_diff_vcd";
  std::filesystem::create_directories(dir);
  const std::string csv = (dir / "t.csv").string(), vcd = (dir / "t.vcd").string();
  const std::string command = std::string(ISIMDL_BINARY) + " fold-trace --rows 4 --cols 3 --seed 7 --trace-csv " + csv +
                              " --trace-vcd " + vcd + " --fault \"cycle=9 group=pe_psum index=4 bit=31\" >/dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const TraceDiffResult r = diff(csv, vcd);
  EXPECT_TRUE(r.equal()) << (r.first.empty() ? "" : r.first[0].register_name + " at cycle " + std::to_string(r.first[0].cycle));
  EXPECT_GT(r.values_compared, 1000);
}

}  // namespace
}  // namespace isimdl
