#pragma once

#include <cstdint>
#include <string>

namespace isimdl {

// The int8 GEMM of every Conv2d and Linear layer (docs/quantization.md):
//   acc[n][m] = bias[n] + sum_k a[m][k] * w[n][k]
// int8 operands, int32 sum, the bias added with int32 wrap-around (the
// accumulator register wraps); a: M x K row-major, w: N x K row-major,
// acc: N x M (channel-major, as layer outputs are laid out).
//
// gemm_s8s8s32 runs it on oneDNN's int8 GEMM (libdnnl, one thread, its
// kernels chosen for the CPU at run time: no -march needed), with the bias
// added by isimdl. gemm_s8s8s32_plain is the plain loop the project started
// with, kept as the referee: tests check the two agree bit for bit, and the
// first call checks oneDNN against it on extreme operands (every product
// -128 * -128, long K) on this CPU — a kernel that saturated, as int16 pair
// sums can on CPUs without VNNI, would be caught there and the plain loop
// used instead (gemm_backend() says which runs and why).
void gemm_s8s8s32(int m_count, int n_count, int k_count, const std::int8_t* a, const std::int8_t* w,
                  const std::int32_t* bias, std::int32_t* acc);
void gemm_s8s8s32_plain(int m_count, int n_count, int k_count, const std::int8_t* a, const std::int8_t* w,
                        const std::int32_t* bias, std::int32_t* acc);

// The same on sub-matrices: row m of a starts at a + m * lda, row n of w at
// w + n * ldw (a grouped convolution's group: its K-columns of the full
// operands); acc is N x M, contiguous.
void gemm_s8s8s32_strided(int m_count, int n_count, int k_count, const std::int8_t* a, int lda, const std::int8_t* w,
                          int ldw, const std::int32_t* bias, std::int32_t* acc);

// The same with the operand given as its transpose: `at` is K x M, row k at
// at + k * ldat (im2col's column layout, Im2col::gather_columns, or a
// 1x1 convolution's input tensor itself). acc is N x M, contiguous.
void gemm_s8s8s32_kxm(int m_count, int n_count, int k_count, const std::int8_t* at, int ldat, const std::int8_t* w,
                      int ldw, const std::int32_t* bias, std::int32_t* acc);
void gemm_s8s8s32_kxm_plain(int m_count, int n_count, int k_count, const std::int8_t* at, int ldat, const std::int8_t* w,
                            int ldw, const std::int32_t* bias, std::int32_t* acc);

// "onednn" or "plain (reason)": which GEMM gemm_s8s8s32 runs here.
std::string gemm_backend();

}  // namespace isimdl
