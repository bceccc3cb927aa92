#include "models/model_file.h"

#include <fmt/format.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "models/atomic_file.h"
#include "models/error.h"

namespace isimdl {
namespace {

constexpr char kMagic[8] = {'I', 'S', 'I', 'M', 'D', 'L', 'Q', 'M'};

class Writer {
 public:
  template <typename T>
  void put(T v) {
    const auto* p = reinterpret_cast<const char*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof(T));
  }
  void put_string(const std::string& s) {
    put(static_cast<std::uint32_t>(s.size()));
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  template <typename T>
  void put_array(const std::vector<T>& v) {
    put(static_cast<std::uint32_t>(v.size()));
    const auto* p = reinterpret_cast<const char*>(v.data());
    bytes.insert(bytes.end(), p, p + v.size() * sizeof(T));
  }
  void put_multiplier(const QuantizedMultiplier& m) {
    put(m.multiplier);
    put(static_cast<std::int32_t>(m.shift));
  }
  void put_qparams(const QuantParams& q) {
    put(q.scale);
    put(q.zero_point);
  }
  std::vector<char> bytes;
};

class Reader {
 public:
  Reader(const std::string& path, const std::vector<char>& bytes, std::size_t at) : path_(path), bytes_(bytes), at_(at) {}
  template <typename T>
  T get(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  std::string get_string(const char* what) {
    const auto n = get<std::uint32_t>(what);
    need(n, what);
    std::string s(bytes_.data() + at_, n);
    at_ += n;
    return s;
  }
  template <typename T>
  std::vector<T> get_array(const std::string& what, std::size_t expected) {
    const auto n = get<std::uint32_t>(what.c_str());
    if (n != expected)
      throw FormatError(fmt::format("{}: {}: holds {} values, the architecture needs {}", path_, what, n, expected));
    need(n * sizeof(T), what.c_str());
    std::vector<T> v(n);
    std::memcpy(v.data(), bytes_.data() + at_, n * sizeof(T));
    at_ += n * sizeof(T);
    return v;
  }
  QuantizedMultiplier get_multiplier(const std::string& what) {
    QuantizedMultiplier m;
    m.multiplier = get<std::int32_t>(what.c_str());
    m.shift = get<std::int32_t>(what.c_str());
    if (m.multiplier < 0 || m.shift < -31 || m.shift > 30)
      throw FormatError(fmt::format("{}: {}: multiplier {} with shift {} is out of range", path_, what, m.multiplier, m.shift));
    return m;
  }
  QuantParams get_qparams(const std::string& what) {
    QuantParams q;
    q.scale = get<float>(what.c_str());
    q.zero_point = get<std::int32_t>(what.c_str());
    if (!(q.scale > 0.0f) || q.zero_point < -128 || q.zero_point > 127)
      throw FormatError(fmt::format("{}: {}: scale {} / zero point {} out of range", path_, what, q.scale, q.zero_point));
    return q;
  }
  bool done() const { return at_ == bytes_.size(); }
  std::size_t remaining() const { return bytes_.size() - at_; }

 private:
  void need(std::size_t n, const char* what) const {
    if (bytes_.size() - at_ < n)
      throw FormatError(fmt::format("{}: payload ends inside {} (truncated or inconsistent)", path_, what));
  }
  const std::string& path_;
  const std::vector<char>& bytes_;
  std::size_t at_;
};

std::uint32_t crc(const char* data, std::size_t n) {
  return static_cast<std::uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(data), static_cast<uInt>(n)));
}

}  // namespace

void save_model(const QuantizedModel& model, const std::string& path) {
  Writer w;
  w.put_string(model.arch.name());
  w.put_string(model.arch.describe());
  w.put_qparams(model.input);
  for (int li = 0; li < model.arch.size(); ++li) {
    const QuantizedLayer& q = model.layers[static_cast<std::size_t>(li)];
    w.put_qparams(q.output);
    if (model.arch.has_weights(li)) {
      w.put(static_cast<std::uint8_t>(q.fused_relu));
      w.put_array(q.weight);
      w.put_array(q.weight_scale);
      w.put_array(q.bias);
      w.put(static_cast<std::uint32_t>(q.multiplier.size()));
      for (const auto& m : q.multiplier) w.put_multiplier(m);
    } else if (model.arch.layer(li).kind == LayerKind::kAdd) {
      w.put(static_cast<std::int32_t>(q.add_left_shift));
      w.put_multiplier(q.add_input1);
      w.put_multiplier(q.add_input2);
      w.put_multiplier(q.add_output);
    } else if (model.arch.layer(li).kind == LayerKind::kConcat) {
      w.put(static_cast<std::int32_t>(q.add_left_shift));
      for (const auto& m : q.concat_input) w.put_multiplier(m);
    } else if (model.arch.layer(li).kind == LayerKind::kLeakyReLU) {
      w.put_multiplier(q.leaky_alpha);
    }
  }
  const bool has_float = !model.float_params.empty();
  w.put(static_cast<std::uint8_t>(has_float));
  if (has_float)
    for (int li = 0; li < model.arch.size(); ++li)
      if (model.arch.has_weights(li)) {
        w.put_array(model.float_params[static_cast<std::size_t>(li)].weight);
        w.put_array(model.float_params[static_cast<std::size_t>(li)].bias);
      }

  Writer header;
  for (char c : kMagic) header.put(c);
  header.put(kModelFileVersion);
  header.put(static_cast<std::uint64_t>(w.bytes.size()));
  header.put(crc(w.bytes.data(), w.bytes.size()));
  std::string bytes(header.bytes.begin(), header.bytes.end());
  bytes.append(w.bytes.begin(), w.bytes.end());
  write_file_atomically(path, bytes);
}

QuantizedModel load_model(const std::string& path) {
  std::string raw;
  try {
    raw = read_regular_file(path, std::uintmax_t{4} << 30, "an isimdl model file");
  } catch (const Error& e) {
    throw FormatError(e.what());
  }
  std::vector<char> bytes(raw.begin(), raw.end());
  constexpr std::size_t kHeader = 8 + 4 + 8 + 4;
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kMagic, 8) != 0)
    throw FormatError(fmt::format("{}: not an isimdl model file (wrong magic number)", path));
  if (bytes.size() < kHeader) throw FormatError(fmt::format("{}: truncated header ({} bytes)", path, bytes.size()));
  Reader header(path, bytes, 8);
  const auto version = header.get<std::uint32_t>("version");
  if (version != kModelFileVersion)
    throw FormatError(fmt::format("{}: model file version {} is not supported (this isimdl reads version {})", path,
                                  version, kModelFileVersion));
  const auto payload = header.get<std::uint64_t>("payload size");
  const auto stored_crc = header.get<std::uint32_t>("checksum");
  if (bytes.size() - kHeader != payload)
    throw FormatError(fmt::format("{}: {}: header promises {} payload bytes, file holds {}", path,
                                  bytes.size() - kHeader < payload ? "truncated" : "trailing bytes", payload,
                                  bytes.size() - kHeader));
  const std::uint32_t actual_crc = crc(bytes.data() + kHeader, payload);
  if (actual_crc != stored_crc)
    throw FormatError(fmt::format("{}: checksum mismatch (stored {:08x}, computed {:08x}): the file is corrupt", path,
                                  stored_crc, actual_crc));
  Reader r(path, bytes, kHeader);
  QuantizedModel model;
  const std::string name = r.get_string("name");
  try {
    model.arch = Architecture::parse(name, r.get_string("architecture"));
  } catch (const FormatError&) {
    throw;
  } catch (const Error& e) {
    throw FormatError(fmt::format("{}: {}", path, e.what()));
  }
  model.input = r.get_qparams("input quantization");
  model.layers.resize(static_cast<std::size_t>(model.arch.size()));
  for (int li = 0; li < model.arch.size(); ++li) {
    QuantizedLayer& q = model.layers[static_cast<std::size_t>(li)];
    const std::string where = fmt::format("layer {} ({})", li, to_string(model.arch.layer(li).kind));
    q.output = r.get_qparams(where + " output quantization");
    if (model.arch.has_weights(li)) {
      const GemmShape g = model.arch.gemm(li);
      const auto n = static_cast<std::size_t>(g.n), k = static_cast<std::size_t>(g.k);
      q.fused_relu = r.get<std::uint8_t>("fused relu flag") != 0;
      q.weight = r.get_array<std::int8_t>(where + " weights", n * k);
      for (auto v : q.weight)
        if (v == -128) throw FormatError(fmt::format("{}: {} weights: -128 is outside the symmetric range", path, where));
      q.weight_scale = r.get_array<float>(where + " weight scales", n);
      for (float s : q.weight_scale)
        if (!(s > 0.0f)) throw FormatError(fmt::format("{}: {} weight scales: {} is not positive", path, where, s));
      q.bias = r.get_array<std::int32_t>(where + " biases", n);
      const auto count = r.get<std::uint32_t>("multiplier count");
      if (count != n)
        throw FormatError(fmt::format("{}: {} multipliers: holds {} values, the architecture needs {}", path, where, count, n));
      for (std::size_t c = 0; c < n; ++c) q.multiplier.push_back(r.get_multiplier(where + " multiplier"));
    } else if (model.arch.layer(li).kind == LayerKind::kAdd) {
      q.add_left_shift = r.get<std::int32_t>("add left shift");
      if (q.add_left_shift < 0 || q.add_left_shift > 23)
        throw FormatError(fmt::format("{}: {}: left shift {} out of range", path, where, q.add_left_shift));
      q.add_input1 = r.get_multiplier(where + " input multiplier");
      q.add_input2 = r.get_multiplier(where + " input multiplier");
      q.add_output = r.get_multiplier(where + " output multiplier");
    } else if (model.arch.layer(li).kind == LayerKind::kConcat) {
      q.add_left_shift = r.get<std::int32_t>("concat left shift");
      if (q.add_left_shift < 0 || q.add_left_shift > 23)
        throw FormatError(fmt::format("{}: {}: left shift {} out of range", path, where, q.add_left_shift));
      for (std::size_t j = 0; j < model.arch.layer(li).inputs().size(); ++j)
        q.concat_input.push_back(r.get_multiplier(where + " input multiplier"));
    } else if (model.arch.layer(li).kind == LayerKind::kLeakyReLU) {
      q.leaky_alpha = r.get_multiplier(where + " slope multiplier");
    }
  }
  if (r.get<std::uint8_t>("float weights flag") != 0) {
    model.float_params.resize(static_cast<std::size_t>(model.arch.size()));
    for (int li = 0; li < model.arch.size(); ++li)
      if (model.arch.has_weights(li)) {
        const GemmShape g = model.arch.gemm(li);
        const std::string where = fmt::format("layer {} float", li);
        model.float_params[static_cast<std::size_t>(li)].weight =
            r.get_array<float>(where + " weights", static_cast<std::size_t>(g.n) * g.k);
        model.float_params[static_cast<std::size_t>(li)].bias = r.get_array<float>(where + " biases", static_cast<std::size_t>(g.n));
      }
  }
  if (!r.done()) throw FormatError(fmt::format("{}: {} unexpected bytes after the last layer", path, r.remaining()));
  return model;
}

}  // namespace isimdl
