#include "models/npy.h"

#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <limits>

#include "models/atomic_file.h"
#include "models/error.h"

namespace isimdl {
namespace {

// Largest array read: the element count check keeps a forged shape from
// asking for more memory than the file could hold.
constexpr std::size_t kMaxHeader = 1 << 16;

template <typename T>
void convert(const char* bytes, std::size_t count, std::vector<double>& out) {
  out.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    T v;
    std::memcpy(&v, bytes + i * sizeof(T), sizeof(T));
    out[i] = static_cast<double>(v);
  }
}

}  // namespace

NpyArray read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError(fmt::format("{}: cannot open .npy file", path));
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    throw FormatError(fmt::format("{}: not a .npy file (wrong magic)", path));
  const int major = static_cast<unsigned char>(magic[6]);
  std::size_t header_len = 0;
  if (major == 1) {
    unsigned char b[2];
    if (!in.read(reinterpret_cast<char*>(b), 2)) throw FormatError(fmt::format("{}: truncated header", path));
    header_len = b[0] | (b[1] << 8);
  } else if (major == 2 || major == 3) {
    unsigned char b[4];
    if (!in.read(reinterpret_cast<char*>(b), 4)) throw FormatError(fmt::format("{}: truncated header", path));
    header_len = b[0] | (b[1] << 8) | (static_cast<std::size_t>(b[2]) << 16) | (static_cast<std::size_t>(b[3]) << 24);
  } else {
    throw FormatError(fmt::format("{}: .npy format version {} is not supported", path, major));
  }
  if (header_len > kMaxHeader) throw FormatError(fmt::format("{}: header of {} bytes is too long", path, header_len));
  std::string header(header_len, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(header_len)))
    throw FormatError(fmt::format("{}: truncated header", path));
  NpyArray a;
  // The header is a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
  auto value_after = [&](const std::string& key) -> std::size_t {
    const std::size_t at = header.find("'" + key + "'");
    if (at == std::string::npos) throw FormatError(fmt::format("{}: header has no '{}'", path, key));
    const std::size_t colon = header.find(':', at);
    if (colon == std::string::npos) throw FormatError(fmt::format("{}: header: no value for '{}'", path, key));
    return header.find_first_not_of(" \t", colon + 1);
  };
  std::size_t at = value_after("descr");
  if (at == std::string::npos || header[at] != '\'')
    throw FormatError(fmt::format("{}: header: 'descr' is not a quoted type", path));
  const std::size_t end_quote = header.find('\'', at + 1);
  if (end_quote == std::string::npos) throw FormatError(fmt::format("{}: header: unterminated 'descr'", path));
  a.dtype = header.substr(at + 1, end_quote - at - 1);
  at = value_after("fortran_order");
  if (at != std::string::npos && header.compare(at, 4, "True") == 0)
    throw FormatError(fmt::format("{}: Fortran-order arrays are not supported (save with np.ascontiguousarray)", path));
  at = value_after("shape");
  if (at == std::string::npos || header[at] != '(') throw FormatError(fmt::format("{}: header: 'shape' is not a tuple", path));
  const std::size_t close = header.find(')', at);
  if (close == std::string::npos) throw FormatError(fmt::format("{}: header: unterminated 'shape'", path));
  const std::string dims = header.substr(at + 1, close - at - 1);
  std::size_t count = 1;
  std::string digits;
  auto flush_dimension = [&]() {
    if (digits.empty()) return;
    if (digits.size() > 12) throw FormatError(fmt::format("{}: dimension {} is too large", path, digits));
    const std::int64_t v = std::stoll(digits);
    digits.clear();
    a.shape.push_back(v);
    if (v != 0 && count > std::numeric_limits<std::size_t>::max() / static_cast<std::size_t>(v))
      throw FormatError(fmt::format("{}: shape ({}) overflows", path, dims));
    count *= static_cast<std::size_t>(v);
  };
  for (char ch : dims) {
    if (ch >= '0' && ch <= '9') digits += ch;
    else if (ch == ',' || ch == ' ') flush_dimension();
    else throw FormatError(fmt::format("{}: header: shape ({}) is not a tuple of integers", path, dims));
  }
  flush_dimension();
  if (a.dtype.empty()) throw FormatError(fmt::format("{}: header: empty 'descr'", path));
  std::string t = a.dtype;
  if (t[0] == '>') throw FormatError(fmt::format("{}: big-endian dtype {} is not supported", path, a.dtype));
  if (t[0] == '<' || t[0] == '|' || t[0] == '=') t = t.substr(1);
  std::size_t item = 0;
  if (t == "f4" || t == "i4") item = 4;
  else if (t == "f8" || t == "i8") item = 8;
  else if (t == "u1") item = 1;
  else throw FormatError(fmt::format("{}: dtype {} is not supported (float32, float64, uint8, int32, int64)", path, a.dtype));
  const std::streampos data_start = in.tellg();
  in.seekg(0, std::ios::end);
  const auto available = static_cast<std::size_t>(in.tellg() - data_start);
  if (count > std::numeric_limits<std::size_t>::max() / item)
    throw FormatError(fmt::format("{}: shape ({}) is too large", path, dims));
  if (count * item != available)
    throw FormatError(fmt::format("{}: shape ({}) of {} needs {} data bytes, the file holds {}", path, dims, a.dtype,
                                  count * item, available));
  in.seekg(data_start);
  std::vector<char> bytes(count * item);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (t == "f4") convert<float>(bytes.data(), count, a.values);
  else if (t == "f8") convert<double>(bytes.data(), count, a.values);
  else if (t == "i4") convert<std::int32_t>(bytes.data(), count, a.values);
  else if (t == "i8") convert<std::int64_t>(bytes.data(), count, a.values);
  else convert<std::uint8_t>(bytes.data(), count, a.values);
  return a;
}

void write_npy_float32(const std::string& path, const std::vector<std::int64_t>& shape, const std::vector<float>& values) {
  std::string dims;
  for (std::size_t i = 0; i < shape.size(); ++i) dims += std::to_string(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? "," : "");
  std::string header = fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}", dims);
  // Magic (6) + version (2) + length (2) + header + newline, padded to 64 bytes.
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  write_file_atomically(path, bytes);
}

}  // namespace isimdl
