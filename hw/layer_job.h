#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "models/architecture.h"
#include "models/quantization.h"

namespace isimdl {

// A read-only array shared by copies: the weights of a layer are held once
// however many jobs (one per image) refer to them.
template <typename T>
class SharedArray {
 public:
  SharedArray() : p_(std::make_shared<const std::vector<T>>()) {}
  SharedArray(std::vector<T> values) : p_(std::make_shared<const std::vector<T>>(std::move(values))) {}  // NOLINT: implicit
  const T& operator[](std::size_t i) const { return (*p_)[i]; }
  std::size_t size() const { return p_->size(); }
  bool empty() const { return p_->empty(); }
  const T* data() const { return p_->data(); }
  typename std::vector<T>::const_iterator begin() const { return p_->begin(); }
  typename std::vector<T>::const_iterator end() const { return p_->end(); }
  const std::vector<T>& vector() const { return *p_; }

 private:
  std::shared_ptr<const std::vector<T>> p_;
};

// One Conv2d or Linear layer as the accelerator executes it: the int8 input
// tensor (the ifmap buffer's content), the GEMM operands and the output
// stage's requantization parameters (docs/quantization.md).
struct LayerJob {
  LayerSpec spec;      // Conv2d geometry (Linear: kernel 1, no padding)
  Shape input_shape;   // C x H x W of the layer input
  Shape output_shape;  // N x OH x OW
  GemmShape gemm;
  Im2col im2col;  // which input element each GEMM operand A[m][k] reads
  std::vector<std::int8_t> input;         // C*H*W
  std::int8_t input_zero_point = 0;       // what the padding reads
  SharedArray<std::int8_t> weight;        // W[n][k], N*K (a grouped GEMM's structural zeros included)
  std::vector<std::int32_t> bias;         // bias_eff[n] (input zero point folded in)
  std::vector<QuantizedMultiplier> multiplier;  // per output channel
  std::int32_t output_zero_point = 0;
  bool relu = false;
};

// Where a layer's tensors are, for what a buffer word holds: its Conv2d
// geometry, input and output shapes and im2col map.
struct LayerGeometry {
  LayerSpec spec;
  Shape input, output;
  Im2col im2col;
  static LayerGeometry of(const LayerJob& job) { return {job.spec, job.input_shape, job.output_shape, job.im2col}; }
};

// The weight buffer's content for a job: the weights that exist, word
// gemm.weight_word(n, k) holding W[n][k].
std::vector<std::int8_t> weight_buffer_words(const LayerJob& job);

// What a layer run produced: the accumulators and outputs of every output
// element, laid out [n][m] like the reference engine's.
struct LayerResult {
  std::vector<std::int32_t> acc;
  std::vector<std::int8_t> out;
};

// Builds the job of layer `layer` of a quantized model from its int8 input.
struct QuantizedModel;
LayerJob make_layer_job(const QuantizedModel& model, int layer, const std::vector<std::int8_t>& input);

// A random GEMM as a 1x1 convolution over a 1 x M image: M rows, K input
// channels, N output channels, random int8 operands and requantization
// (tests, and `isimdl fold-trace`'s RTL workloads). Deterministic for a seed.
LayerJob random_gemm_job(int m, int k, int n, std::uint64_t seed);

}  // namespace isimdl
