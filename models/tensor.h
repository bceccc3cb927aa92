#pragma once

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

namespace isimdl {

// Shape of one activation tensor of one image: channels x height x width.
// Linear layers use C = features, H = W = 1.
struct Shape {
  int c = 0;
  int h = 1;
  int w = 1;
  std::size_t size() const { return static_cast<std::size_t>(c) * h * w; }
  bool operator==(const Shape& o) const { return c == o.c && h == o.h && w == o.w; }
  bool operator!=(const Shape& o) const { return !(*this == o); }
};

std::string to_string(const Shape& shape);

// A dense buffer with an explicit shape, row-major. Float tensors of a batch
// are laid out [batch][c][h][w].
template <typename T>
struct Tensor {
  std::vector<int> dims;
  std::vector<T> data;

  Tensor() = default;
  explicit Tensor(std::vector<int> d, T fill = T{}) : dims(std::move(d)), data(count(dims), fill) {}

  static std::size_t count(const std::vector<int>& d) {
    return std::accumulate(d.begin(), d.end(), std::size_t{1},
                           [](std::size_t a, int b) { return a * static_cast<std::size_t>(b); });
  }
  std::size_t size() const { return data.size(); }
  T* ptr() { return data.data(); }
  const T* ptr() const { return data.data(); }
  T& operator[](std::size_t i) { return data[i]; }
  const T& operator[](std::size_t i) const { return data[i]; }
};

using FloatTensor = Tensor<float>;
using Int8Tensor = Tensor<std::int8_t>;
using Int32Tensor = Tensor<std::int32_t>;

}  // namespace isimdl
