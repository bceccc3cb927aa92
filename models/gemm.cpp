#include "models/gemm.h"

#include <oneapi/dnnl/dnnl.h>
#include <dlfcn.h>

#include <fmt/format.h>

#include <mutex>
#include <vector>

namespace isimdl {

namespace {

void plain_strided(int m_count, int n_count, int k_count, const std::int8_t* a, int lda, const std::int8_t* w, int ldw,
                   const std::int32_t* bias, std::int32_t* acc) {
  for (int n = 0; n < n_count; ++n) {
    const std::int8_t* __restrict wn = w + static_cast<std::size_t>(n) * ldw;
    std::int32_t* accn = acc + static_cast<std::size_t>(n) * m_count;
    for (int m = 0; m < m_count; ++m) {
      const std::int8_t* __restrict am = a + static_cast<std::size_t>(m) * lda;
      std::int32_t sum = 0;
      for (int k = 0; k < k_count; ++k) sum += static_cast<std::int32_t>(am[k]) * static_cast<std::int32_t>(wn[k]);
      // The accumulator register wraps; the bias add is done unsigned to say so.
      accn[m] = static_cast<std::int32_t>(static_cast<std::uint32_t>(bias[n]) + static_cast<std::uint32_t>(sum));
    }
  }
}

}  // namespace

void gemm_s8s8s32_kxm_plain(int m_count, int n_count, int k_count, const std::int8_t* at, int ldat, const std::int8_t* w,
                            int ldw, const std::int32_t* bias, std::int32_t* acc) {
  // Row n of acc gathers row k of `at` times w[n][k], k by k: the same
  // exact int32 sum in another order (integer addition wraps the same way).
  for (int n = 0; n < n_count; ++n) {
    const std::int8_t* __restrict wn = w + static_cast<std::size_t>(n) * ldw;
    std::uint32_t* __restrict accn = reinterpret_cast<std::uint32_t*>(acc + static_cast<std::size_t>(n) * m_count);
    const auto b = static_cast<std::uint32_t>(bias[n]);
    for (int m = 0; m < m_count; ++m) accn[m] = b;
    for (int k = 0; k < k_count; ++k) {
      const std::int8_t* __restrict ak = at + static_cast<std::size_t>(k) * ldat;
      const auto wk = static_cast<std::int32_t>(wn[k]);
      for (int m = 0; m < m_count; ++m) accn[m] += static_cast<std::uint32_t>(static_cast<std::int32_t>(ak[m]) * wk);
    }
  }
}

void gemm_s8s8s32_plain(int m_count, int n_count, int k_count, const std::int8_t* a, const std::int8_t* w,
                        const std::int32_t* bias, std::int32_t* acc) {
  plain_strided(m_count, n_count, k_count, a, k_count, w, k_count, bias, acc);
}

namespace {

// oneDNN is row-major: C (N x M) = W (N x K) * A^T (K x M), no offsets,
// alpha 1, beta 0 (an exact int32 product); then the bias, wrapping.
// `a` is M x K (row m at a + m * lda) or, with kxm, K x M (row k at a + k * lda).
bool onednn_gemm(int m_count, int n_count, int k_count, const std::int8_t* a, int lda, const std::int8_t* w, int ldw,
                 const std::int32_t* bias, std::int32_t* acc, bool kxm = false) {
  // One thread: campaigns run one forked worker per core, and a process
  // that started no OpenMP threads forks safely.
  // The OpenMP runtime is the one libdnnl brought (Debian's: libgomp),
  // reached through the process's global symbols rather than linked, so
  // that the limit reaches the runtime oneDNN actually uses whatever the
  // compiler's own OpenMP is. The limit is per thread.
  thread_local const bool one_thread = [] {
    using SetThreads = void (*)(int);
    if (const auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"))) set(1);
    return true;
  }();
  (void)one_thread;
  const std::int32_t zero = 0;
  if (dnnl_gemm_s8s8s32('N', kxm ? 'N' : 'T', 'F', n_count, m_count, k_count, 1.0f, w, ldw, 0, a, lda, 0, 0.0f, acc,
                        m_count, &zero) != dnnl_success)
    return false;
  for (int n = 0; n < n_count; ++n) {
    std::int32_t* accn = acc + static_cast<std::size_t>(n) * m_count;
    const auto b = static_cast<std::uint32_t>(bias[n]);
    for (int m = 0; m < m_count; ++m) accn[m] = static_cast<std::int32_t>(b + static_cast<std::uint32_t>(accn[m]));
  }
  return true;
}

// Checks oneDNN against the plain loop on operands that expose saturation
// and wrap-around; the reason it cannot be used, or empty.
std::string check_onednn() {
  struct Shape {
    int m, n, k;
  };
  for (const Shape s : {Shape{1, 1, 1}, Shape{3, 5, 7}, Shape{17, 33, 301}, Shape{64, 48, 2048}}) {
    for (int pattern = 0; pattern < 3; ++pattern) {
      std::vector<std::int8_t> a(static_cast<std::size_t>(s.m) * s.k), w(static_cast<std::size_t>(s.n) * s.k);
      std::uint32_t x = 12345;
      auto next = [&x] {
        x = x * 1664525u + 1013904223u;
        return static_cast<std::int8_t>(x >> 24);
      };
      for (std::size_t i = 0; i < a.size(); ++i)
        a[i] = pattern == 0 ? std::int8_t{-128} : pattern == 1 ? static_cast<std::int8_t>(i % 2 ? 127 : -128) : next();
      for (std::size_t i = 0; i < w.size(); ++i)
        w[i] = pattern == 0 ? std::int8_t{-128} : pattern == 1 ? static_cast<std::int8_t>(i % 3 ? -128 : 127) : next();
      std::vector<std::int32_t> bias(static_cast<std::size_t>(s.n)), want(static_cast<std::size_t>(s.m) * s.n),
          got(want.size());
      for (std::size_t i = 0; i < bias.size(); ++i) bias[i] = i % 2 ? 2147483000 : -2147483000;  // wraps
      gemm_s8s8s32_plain(s.m, s.n, s.k, a.data(), w.data(), bias.data(), want.data());
      // Both operand layouts: `a` read as M x K, and the same values as K x M.
      std::vector<std::int8_t> at(a.size());
      for (int m = 0; m < s.m; ++m)
        for (int k = 0; k < s.k; ++k)
          at[static_cast<std::size_t>(k) * s.m + m] = a[static_cast<std::size_t>(m) * s.k + k];
      for (const bool kxm : {false, true}) {
        if (!onednn_gemm(s.m, s.n, s.k, kxm ? at.data() : a.data(), kxm ? s.m : s.k, w.data(), s.k, bias.data(),
                         got.data(), kxm))
          return "oneDNN's dnnl_gemm_s8s8s32 returned an error";
        if (got != want)
          return fmt::format("oneDNN's int8 GEMM differs from the exact sum on this CPU ({}x{}x{}, pattern {}{})", s.m,
                             s.n, s.k, pattern, kxm ? ", K x M operand" : "");
      }
    }
  }
  return {};
}

struct Backend {
  bool onednn = false;
  std::string name;
};

const Backend& backend() {
  static const Backend b = [] {
    const std::string why = check_onednn();
    return why.empty() ? Backend{true, "onednn"} : Backend{false, "plain (" + why + ")"};
  }();
  return b;
}

// Short reductions over one output channel (a depthwise convolution's K
// of 9 and N of 1 per group) or of K < 8 run faster in the plain loop than
// through a library call; a K of 8-31 over 4 or more channels (lenet5's
// first convolution, the first 1x1 convolutions of MobileNetV2) 5-8x
// faster in the library (measured with both on 784x6x25, 1024x96x16,
// 256x144x24, 256x8x9, 1024x16x3, 1024x1x9 and 16x1x9).
bool use_library(int n_count, int k_count) {
  return (k_count >= 32 || (n_count >= 4 && k_count >= 8)) && backend().onednn;
}

}  // namespace

void gemm_s8s8s32(int m_count, int n_count, int k_count, const std::int8_t* a, const std::int8_t* w,
                  const std::int32_t* bias, std::int32_t* acc) {
  gemm_s8s8s32_strided(m_count, n_count, k_count, a, k_count, w, k_count, bias, acc);
}

void gemm_s8s8s32_strided(int m_count, int n_count, int k_count, const std::int8_t* a, int lda, const std::int8_t* w,
                          int ldw, const std::int32_t* bias, std::int32_t* acc) {
  if (use_library(n_count, k_count) && onednn_gemm(m_count, n_count, k_count, a, lda, w, ldw, bias, acc)) return;
  plain_strided(m_count, n_count, k_count, a, lda, w, ldw, bias, acc);
}

void gemm_s8s8s32_kxm(int m_count, int n_count, int k_count, const std::int8_t* at, int ldat, const std::int8_t* w,
                      int ldw, const std::int32_t* bias, std::int32_t* acc) {
  if (use_library(n_count, k_count) && onednn_gemm(m_count, n_count, k_count, at, ldat, w, ldw, bias, acc, true))
    return;
  gemm_s8s8s32_kxm_plain(m_count, n_count, k_count, at, ldat, w, ldw, bias, acc);
}

std::string gemm_backend() { return backend().name; }

}  // namespace isimdl
