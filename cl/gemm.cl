/* fmcl's own matrix products for devices where CLBlast's defaults are slow (CPUs through
 * PoCL). One work-item computes an 8-row by 32-column tile of C held in sixteen float16
 * accumulators: per step of k it broadcasts one scalar of A per row against a float16 row
 * pair of B. No local memory and no barriers, so PoCL turns each work-item into straight
 * AVX-512 code. Row-major throughout.
 *
 * Epilogues fuse the MLP's elementwise work into the store of the tile: bias, activation
 * and its derivative in the forward pass, the product with that derivative in the backward
 * pass, and the bias gradient (column sums of A) next to the weight gradient. */

/* What the runtime puts in front of this file in its program (src/kernels.c), for a
 * compiler given the file alone (clang by hand, an editor). */
#ifndef FMCL_JOINED
#include "../include/fmcl/constants.h"
#include "activation.cl"
#endif

/* Unrolling the k loop by 4 lets the loads of later steps start early: 1.15x (NN) to 1.3x
 * (TN) measured on PoCL. */
#define FM_UNROLL_K _Pragma("unroll 4")

/* Declares and zeroes the accumulators of row r. */
#define ACC_DECL(r) float16 c##r##a = (float16)(0.0f), c##r##b = (float16)(0.0f);
#define ACC_ALL(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

/* Row r of the tile takes scalar s times the B row pair (b0, b1). Written as a * b + c,
 * not mad(): PoCL lowers the vector mad() builtin elementwise, while the expression with
 * -cl-mad-enable becomes AVX-512 FMAs (about 1.6x faster measured). */
#define FMA_ROW(r, s)                                                                      \
  c##r##a += (s) * b0;                                                                     \
  c##r##b += (s) * b1;

#define FMA_ROWS_A(p)                                                                      \
  FMA_ROW(0, a0[p]) FMA_ROW(1, a1[p]) FMA_ROW(2, a2[p]) FMA_ROW(3, a3[p])                  \
  FMA_ROW(4, a4[p]) FMA_ROW(5, a5[p]) FMA_ROW(6, a6[p]) FMA_ROW(7, a7[p])

#define FMA_ROWS_V(v)                                                                      \
  FMA_ROW(0, v.s0) FMA_ROW(1, v.s1) FMA_ROW(2, v.s2) FMA_ROW(3, v.s3)                      \
  FMA_ROW(4, v.s4) FMA_ROW(5, v.s5) FMA_ROW(6, v.s6) FMA_ROW(7, v.s7)

/* Loads the first cols (< 32) of a row of B into (b0, b1), zeros after them. */
static inline void load_b_partial(__global const float *row, int cols, float16 *b0, float16 *b1) {
  float tmp[32];
  for (int j = 0; j < 32; j++) tmp[j] = j < cols ? row[j] : 0.0f;
  *b0 = vload16(0, tmp);
  *b1 = vload16(0, tmp + 16);
}

#define FM_LANES16 ((int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))
#define FM_LANES8 ((int8)(0, 1, 2, 3, 4, 5, 6, 7))

/* Edge tiles. Reading a whole 32-float row of B from column j0 stays inside the matrix for
 * every row but the last when j0 + 32 <= ldb + n (the next row is there), so those rows
 * take two vector loads with the columns past n masked to zero: with a scalar load per
 * column the edge tile of a 65-wide product cost as much as its two full tiles. Returns
 * how many leading rows may be read that way; the same holds for A^T's 8-float rows. */
static inline int rows_readable_whole(int j0, int width, int ld, int n, int k) {
  return j0 + width <= ld + n ? k - 1 : 0;
}

static inline void load_b_masked(__global const float *row, int16 keep0, int16 keep1, float16 *b0,
                          float16 *b1) {
  *b0 = select((float16)(0.0f), vload16(0, row), keep0);
  *b1 = select((float16)(0.0f), vload16(0, row + 16), keep1);
}

/* The 8 values of A^T for the tile's rows at step p: A's row p from column i0 (zeros past
 * column m). */
static inline float8 load_a_partial(__global const float *arow, int cols) {
  float tmp[8];
  for (int r = 0; r < 8; r++) tmp[r] = r < cols ? arow[r] : 0.0f;
  return vload8(0, tmp);
}

/* The tile position and the product of A (m, k) and B (k, n) into the accumulators. Rows
 * past m read row m - 1 (valid memory) and are not stored, so the inner loop has no
 * branches. Range (ceil(m/8), ceil(n/32)): neighbouring work-items take the tiles down
 * one column strip of B, which stays in the cache between them. */
#define GEMM_NN_ACCUMULATE                                                                 \
  int j0 = get_global_id(1) * FM_GEMM_TILE_N, i0 = get_global_id(0) * FM_GEMM_TILE_M;                \
  if (j0 >= n || i0 >= m) return;                                                          \
  A += offa, B += offb;                                                                    \
  int full_n = j0 + FM_GEMM_TILE_N <= n;                                                        \
  __global const float *a0 = A + (size_t)min(i0 + 0, m - 1) * lda;                         \
  __global const float *a1 = A + (size_t)min(i0 + 1, m - 1) * lda;                         \
  __global const float *a2 = A + (size_t)min(i0 + 2, m - 1) * lda;                         \
  __global const float *a3 = A + (size_t)min(i0 + 3, m - 1) * lda;                         \
  __global const float *a4 = A + (size_t)min(i0 + 4, m - 1) * lda;                         \
  __global const float *a5 = A + (size_t)min(i0 + 5, m - 1) * lda;                         \
  __global const float *a6 = A + (size_t)min(i0 + 6, m - 1) * lda;                         \
  __global const float *a7 = A + (size_t)min(i0 + 7, m - 1) * lda;                         \
  ACC_ALL(ACC_DECL)                                                                        \
  if (full_n) {                                                                            \
    __global const float *bp = B + j0;                                                     \
    FM_UNROLL_K                                                                            \
    for (int p = 0; p < k; p++, bp += ldb) {                                               \
      float16 b0 = vload16(0, bp), b1 = vload16(0, bp + 16);                               \
      FMA_ROWS_A(p)                                                                        \
    }                                                                                      \
  } else {                                                                                 \
    int16 keep0 = FM_LANES16 < n - j0, keep1 = FM_LANES16 + 16 < n - j0;                   \
    int whole = rows_readable_whole(j0, FM_GEMM_TILE_N, ldb, n, k);                             \
    for (int p = 0; p < k; p++) {                                                          \
      float16 b0, b1;                                                                      \
      if (p < whole)                                                                       \
        load_b_masked(B + (size_t)p * ldb + j0, keep0, keep1, &b0, &b1);                   \
      else                                                                                 \
        load_b_partial(B + (size_t)p * ldb + j0, n - j0, &b0, &b1);                        \
      FMA_ROWS_A(p)                                                                        \
    }                                                                                      \
  }

/* As GEMM_NN_ACCUMULATE for A^T B with A stored (k, m): the tile's 8 scalars of A at step
 * p are adjacent. Also sums A's columns of the tile into colsum. The kernel argument unit
 * (always 1) is A's element stride: read through it, the 8 scalars stay 8 broadcasts from
 * memory, where the compiler would otherwise merge them into vector loads plus shuffles
 * that compete with the FMAs for a port (about 1.3x slower measured on PoCL). */
#define GEMM_TN_ACCUMULATE                                                                 \
  int j0 = get_global_id(1) * FM_GEMM_TILE_N, i0 = get_global_id(0) * FM_GEMM_TILE_M;                \
  if (j0 >= n || i0 >= m) return;                                                          \
  A += offa, B += offb;                                                                    \
  int full_n = j0 + FM_GEMM_TILE_N <= n, full_m = i0 + FM_GEMM_TILE_M <= m;                          \
  float8 colsum = (float8)(0.0f);                                                          \
  ACC_ALL(ACC_DECL)                                                                        \
  if (full_n && full_m) {                                                                  \
    __global const float *a0 = A + i0, *a1 = a0 + unit, *a2 = a1 + unit, *a3 = a2 + unit;  \
    __global const float *a4 = a3 + unit, *a5 = a4 + unit, *a6 = a5 + unit, *a7 = a6 + unit; \
    __global const float *bp = B + j0;                                                     \
    FM_UNROLL_K                                                                            \
    for (int p = 0; p < k; p++, bp += ldb) {                                               \
      float16 b0 = vload16(0, bp), b1 = vload16(0, bp + 16);                               \
      size_t at = (size_t)p * lda;                                                         \
      colsum += vload8(0, a0 + at);                                                        \
      FMA_ROWS_A(at)                                                                       \
    }                                                                                      \
  } else {                                                                                 \
    int cols = min(n - j0, FM_GEMM_TILE_N), rows = min(m - i0, FM_GEMM_TILE_M);                      \
    int16 keep0 = FM_LANES16 < cols, keep1 = FM_LANES16 + 16 < cols;                      \
    int8 keep_a = FM_LANES8 < rows;                                                        \
    int whole = min(rows_readable_whole(j0, FM_GEMM_TILE_N, ldb, n, k),                         \
                    rows_readable_whole(i0, FM_GEMM_TILE_M, lda, m, k));                        \
    for (int p = 0; p < k; p++) {                                                          \
      float16 b0, b1;                                                                      \
      float8 av;                                                                           \
      if (p < whole) {                                                                     \
        load_b_masked(B + (size_t)p * ldb + j0, keep0, keep1, &b0, &b1);                   \
        av = select((float8)(0.0f), vload8(0, A + (size_t)p * lda + i0), keep_a);          \
      } else {                                                                             \
        load_b_partial(B + (size_t)p * ldb + j0, cols, &b0, &b1);                          \
        av = load_a_partial(A + (size_t)p * lda + i0, rows);                               \
      }                                                                                    \
      colsum += av;                                                                        \
      FMA_ROWS_V(av)                                                                       \
    }                                                                                      \
  }

/* Stores row r of the tile as C = alpha acc + beta C. */
#define STORE_ROW(r)                                                                       \
  if (i0 + r < m) {                                                                        \
    __global float *crow = C + (size_t)(i0 + r) * ldc + j0;                                \
    if (full_n) {                                                                          \
      float16 o0 = alpha * c##r##a, o1 = alpha * c##r##b;                                  \
      if (beta != 0.0f) {                                                                  \
        o0 += beta * vload16(0, crow);                                                     \
        o1 += beta * vload16(0, crow + 16);                                                \
      }                                                                                    \
      vstore16(o0, 0, crow);                                                               \
      vstore16(o1, 0, crow + 16);                                                          \
    } else {                                                                               \
      float tmp[32];                                                                       \
      vstore16(c##r##a, 0, tmp);                                                           \
      vstore16(c##r##b, 0, tmp + 16);                                                      \
      for (int j = 0; j < n - j0 && j < 32; j++)                                           \
        crow[j] = alpha * tmp[j] + (beta != 0.0f ? beta * crow[j] : 0.0f);                 \
    }                                                                                      \
  }

/* C (m, n) = alpha A (m, k) B (k, n) + beta C. */
__kernel void fm_gemm_nn(int m, int n, int k, float alpha, __global const float *A, int offa,
                         int lda, __global const float *B, int offb, int ldb, float beta,
                         __global float *C, int offc, int ldc) {
  C += offc;
  GEMM_NN_ACCUMULATE
  ACC_ALL(STORE_ROW)
}

/* C (m, n) = alpha A^T B + beta C with A stored (k, m); unit is 1 (see GEMM_TN_ACCUMULATE). */
__kernel void fm_gemm_tn(int m, int n, int k, float alpha, __global const float *A, int offa,
                         int lda, __global const float *B, int offb, int ldb, float beta,
                         __global float *C, int offc, int ldc, int unit) {
  C += offc;
  GEMM_TN_ACCUMULATE
  ACC_ALL(STORE_ROW)
}

/* C = A^T B and sums[i] = sum_p A[p, i] (the weight and bias gradients of a layer: A is
 * the gradient at the layer's output, B its input). sums is params-like: offset sums_at. */
__kernel void fm_gemm_tn_colsum(int m, int n, int k, __global const float *A, int offa, int lda,
                                __global const float *B, int offb, int ldb, __global float *C,
                                int offc, int ldc, __global float *sums, int sums_at,
                                int unit) {
  const float alpha = 1.0f, beta = 0.0f;
  C += offc;
  GEMM_TN_ACCUMULATE
  ACC_ALL(STORE_ROW)
  if (j0 == 0) {
    float tmp[8];
    vstore8(colsum, 0, tmp);
    for (int r = 0; r < 8 && i0 + r < m; r++) sums[sums_at + i0 + r] = tmp[r];
  }
}

/* C = A B and sums[sums_at + i] = sum_p A[i, p]: a layer's weight and bias gradients from
 * its output gradient transposed (A, (m, k)) and its input (B, (k, n)). Each row sum adds
 * in order of p, as the column sums of fm_gemm_tn_colsum do, so both give the same bits. */
__kernel void fm_gemm_nn_rowsum(int m, int n, int k, __global const float *A, int offa, int lda,
                                __global const float *B, int offb, int ldb, __global float *C,
                                int offc, int ldc, __global float *sums, int sums_at) {
  const float alpha = 1.0f, beta = 0.0f;
  C += offc;
  GEMM_NN_ACCUMULATE
  ACC_ALL(STORE_ROW)
  if (j0 == 0) {
    float8 rowsum = (float8)(0.0f);
    for (int p = 0; p < k; p++)
      rowsum += (float8)(a0[p], a1[p], a2[p], a3[p], a4[p], a5[p], a6[p], a7[p]);
    float tmp[8];
    vstore8(rowsum, 0, tmp);
    for (int r = 0; r < 8 && i0 + r < m; r++) sums[sums_at + i0 + r] = tmp[r];
  }
}

/* Row r of the forward epilogue: H = act(acc + bias) and, when keep_d, D = act'(same). */
#define STORE_BIAS_ACT(r)                                                                  \
  if (i0 + r < m) {                                                                        \
    __global float *drow = D + (size_t)(i0 + r) * ldc + j0;                                \
    __global float *hrow = H + (size_t)(i0 + r) * ldc + j0;                                \
    if (full_n) {                                                                          \
      float16 d0, d1;                                                                      \
      vstore16(FM_ACT16(c##r##a + bias0, &d0), 0, hrow);                                   \
      vstore16(FM_ACT16(c##r##b + bias1, &d1), 0, hrow + 16);                              \
      if (keep_d) {                                                                        \
        vstore16(d0, 0, drow);                                                             \
        vstore16(d1, 0, drow + 16);                                                        \
      }                                                                                    \
    } else {                                                                               \
      float tmp[32];                                                                       \
      vstore16(c##r##a, 0, tmp);                                                           \
      vstore16(c##r##b, 0, tmp + 16);                                                      \
      for (int j = 0; j < n - j0 && j < 32; j++) {                                         \
        float d;                                                                           \
        hrow[j] = FM_ACT(tmp[j] + bias[j0 + j], &d);                                       \
        if (keep_d) drow[j] = d;                                                           \
      }                                                                                    \
    }                                                                                      \
  }

/* fm_gemm_nn_bias_<act>: H (m, n) = act(A B + bias) and D (m, n) = act'(A B + bias), both
 * with row stride ldc; the bias is params[bias_at ...]. fm_gemm_nn_bias_<act>_h writes H
 * only and never touches D: sampling needs no derivatives (for the output layer, act none,
 * there is only this variant). */
#define FM_GEMM_BIAS_ACT_KERNEL(name, keep)                                                \
  __kernel void name(int m, int n, int k, __global const float *A, int offa, int lda,      \
                     __global const float *B, int offb, int ldb,                           \
                     __global const float *params, int bias_at, __global float *D,         \
                     __global float *H, int ldc) {                                         \
    const int keep_d = keep;                                                               \
    GEMM_NN_ACCUMULATE                                                                     \
    __global const float *bias = params + bias_at;                                         \
    float16 bias0 = (float16)(0.0f), bias1 = (float16)(0.0f);                              \
    if (full_n) {                                                                          \
      bias0 = vload16(0, bias + j0);                                                       \
      bias1 = vload16(0, bias + j0 + 16);                                                  \
    }                                                                                      \
    ACC_ALL(STORE_BIAS_ACT)                                                                \
  }
#define FM_GEMM_BIAS_ACT(act)                                                              \
  FM_GEMM_BIAS_ACT_KERNEL(fm_gemm_nn_bias_##act, 1)                                        \
  FM_GEMM_BIAS_ACT_KERNEL(fm_gemm_nn_bias_##act##_h, 0)

#define FM_ACT fm_act_none
#define FM_ACT16 fm_act_none_16
FM_GEMM_BIAS_ACT_KERNEL(fm_gemm_nn_bias_none_h, 0)
#undef FM_ACT
#undef FM_ACT16
#define FM_ACT fm_act_silu
#define FM_ACT16 fm_act_silu_16
FM_GEMM_BIAS_ACT(silu)
#undef FM_ACT
#undef FM_ACT16
#define FM_ACT fm_act_relu
#define FM_ACT16 fm_act_relu_16
FM_GEMM_BIAS_ACT(relu)
#undef FM_ACT
#undef FM_ACT16
#define FM_ACT fm_act_tanh
#define FM_ACT16 fm_act_tanh_16
FM_GEMM_BIAS_ACT(tanh)
#undef FM_ACT
#undef FM_ACT16
#define FM_ACT fm_act_gelu
#define FM_ACT16 fm_act_gelu_16
FM_GEMM_BIAS_ACT(gelu)

/* Row r of the backward epilogue: G = acc * D. */
#define STORE_TIMES_D(r)                                                                   \
  if (i0 + r < m) {                                                                        \
    __global const float *drow = D + (size_t)(i0 + r) * ldc + j0;                          \
    __global float *grow = G + (size_t)(i0 + r) * ldc + j0;                                \
    if (full_n) {                                                                          \
      vstore16(c##r##a * vload16(0, drow), 0, grow);                                       \
      vstore16(c##r##b * vload16(0, drow + 16), 0, grow + 16);                             \
    } else {                                                                               \
      float tmp[32];                                                                       \
      vstore16(c##r##a, 0, tmp);                                                           \
      vstore16(c##r##b, 0, tmp + 16);                                                      \
      for (int j = 0; j < n - j0 && j < 32; j++) grow[j] = tmp[j] * drow[j];               \
    }                                                                                      \
  }

/* G (m, n) = (A B) * D elementwise, both with row stride ldc: the gradient passed back
 * through a layer and its activation, D being act'(z) kept by the forward pass. */
__kernel void fm_gemm_nn_times(int m, int n, int k, __global const float *A, int offa, int lda,
                               __global const float *B, int offb, int ldb,
                               __global const float *D, __global float *G, int ldc) {
  GEMM_NN_ACCUMULATE
  ACC_ALL(STORE_TIMES_D)
}

/* Thin products: one side has at most FM_GEMM_THIN columns (the MLP's input layer, x and
 * t, and its output layer, the data dimension). A tile of 32 columns would be mostly empty,
 * so these kernels give each work-item one row or column of the wide side instead. */

/* Loads 16 floats from p, or the first count of them and zeros. */
static inline float16 load16_partial(__global const float *p, int count) {
  if (count >= 16) return vload16(0, p);
  float tmp[16];
  for (int q = 0; q < 16; q++) tmp[q] = q < count ? p[q] : 0.0f;
  return vload16(0, tmp);
}

/* The thin kernels' loops for a compile-time thin width M: M float16 accumulators, each
 * work-item covering 16 elements of the wide side with explicit vectors. The loops over M
 * are unrolled by request: left as loops, PoCL kept the accumulators and column sums in
 * memory (the 2-row weight gradient of the toy output layer took 58 to 64 us instead of 28
 * to 31 on PoCL). */
#define FM_UNROLL_ALL _Pragma("unroll")
#define THIN_M_LOOP(M)                                                                     \
  {                                                                                        \
    float16 acc[M];                                                                        \
    float colsum[M];                                                                       \
    FM_UNROLL_ALL                                                                          \
    for (int r = 0; r < M; r++) acc[r] = (float16)(0.0f), colsum[r] = 0.0f;                \
    for (int p = 0; p < k; p++) {                                                          \
      float16 b = load16_partial(B + (size_t)p * ldb + j0, n - j0);                        \
      FM_UNROLL_ALL                                                                        \
      for (int r = 0; r < M; r++) {                                                        \
        float a = A[(size_t)p * lda + r];                                                  \
        acc[r] += a * b;                                                                   \
        colsum[r] += a;                                                                    \
      }                                                                                    \
    }                                                                                      \
    FM_UNROLL_ALL                                                                          \
    for (int r = 0; r < M; r++) {                                                          \
      float tmp[16];                                                                       \
      vstore16(acc[r], 0, tmp);                                                            \
      for (int q = 0; q < 16 && j0 + q < n; q++) C[(size_t)r * ldc + j0 + q] = tmp[q];     \
    }                                                                                      \
    if (j0 == 0 && sums_at >= 0) {                                                         \
      FM_UNROLL_ALL                                                                        \
      for (int r = 0; r < M; r++) sums[sums_at + r] = colsum[r];                           \
    }                                                                                      \
  }

#define THIN_N_LOOP(N)                                                                     \
  {                                                                                        \
    float16 acc[N], colsum = (float16)(0.0f);                                              \
    FM_UNROLL_ALL                                                                          \
    for (int c = 0; c < N; c++) acc[c] = (float16)(0.0f);                                  \
    for (int p = 0; p < k; p++) {                                                          \
      float16 a = load16_partial(A + (size_t)p * lda + i0, m - i0);                        \
      colsum += a;                                                                         \
      FM_UNROLL_ALL                                                                        \
      for (int c = 0; c < N; c++) acc[c] += a * B[(size_t)p * ldb + c];                    \
    }                                                                                      \
    float tmp[16];                                                                         \
    FM_UNROLL_ALL                                                                          \
    for (int c = 0; c < N; c++) {                                                          \
      vstore16(acc[c], 0, tmp);                                                            \
      for (int q = 0; q < 16 && i0 + q < m; q++) C[(size_t)(i0 + q) * ldc + c] = tmp[q];   \
    }                                                                                      \
    vstore16(colsum, 0, tmp);                                                              \
    for (int q = 0; q < 16 && i0 + q < m && sums_at >= 0; q++) sums[sums_at + i0 + q] = tmp[q]; \
  }

/* Dispatches on the thin width so every loop has a constant trip count. */
#define THIN_SWITCH(w, LOOP)                                                               \
  switch (w) {                                                                             \
  case 1: LOOP(1) break;                                                                   \
  case 2: LOOP(2) break;                                                                   \
  case 3: LOOP(3) break;                                                                   \
  case 4: LOOP(4) break;                                                                   \
  case 5: LOOP(5) break;                                                                   \
  case 6: LOOP(6) break;                                                                   \
  case 7: LOOP(7) break;                                                                   \
  default: LOOP(8) break;                                                                  \
  }

/* C (m, n) = A^T B for m <= FM_GEMM_THIN, A stored (k, m): work-item t owns columns 16t .. 16t+15
 * of C; the column sums of A go to sums[sums_at + r] (written by item 0; none when sums_at
 * < 0). Range (ceil(n/16)). */
__kernel void fm_gemm_tn_thin_m(int m, int n, int k, __global const float *A, int offa, int lda,
                                __global const float *B, int offb, int ldb, __global float *C,
                                int offc, int ldc, __global float *sums, int sums_at) {
  int j0 = get_global_id(0) * 16;
  if (j0 >= n) return;
  A += offa, B += offb, C += offc;
  THIN_SWITCH(m, THIN_M_LOOP)
}

/* C (m, n) = A^T B for n <= FM_GEMM_THIN, A stored (k, m): work-item t owns rows 16t .. 16t+15
 * of C and those columns' sums of A (sums[sums_at + i]; none when sums_at < 0). Range
 * (ceil(m/16)). */
__kernel void fm_gemm_tn_thin_n(int m, int n, int k, __global const float *A, int offa, int lda,
                                __global const float *B, int offb, int ldb, __global float *C,
                                int offc, int ldc, __global float *sums, int sums_at) {
  int i0 = get_global_id(0) * 16;
  if (i0 >= m) return;
  A += offa, B += offb, C += offc;
  THIN_SWITCH(n, THIN_N_LOOP)
}

/* Z (m, n) = A W^T + bias for n <= FM_GEMM_THIN with W stored (n, k) as in the parameters: the
 * output layer. Work-item i owns row i, read with float16 loads. Range (m), work-groups of
 * one item (the vectors are explicit). */
__kernel void fm_gemm_nt_thin_bias(int m, int n, int k, __global const float *A, int offa,
                                   int lda, __global const float *W, int offw,
                                   __global const float *params, int bias_at, __global float *Z,
                                   int ldz) {
  int i = get_global_id(0);
  if (i >= m) return;
  __global const float *arow = A + offa + (size_t)i * lda;
  W += offw;
  for (int c = 0; c < n; c++) {
    __global const float *wrow = W + (size_t)c * k;
    float16 acc = (float16)(0.0f);
    int p = 0;
    for (; p + 16 <= k; p += 16) acc += vload16(0, arow + p) * vload16(0, wrow + p);
    float s = params[bias_at + c];
    for (; p < k; p++) s += arow[p] * wrow[p];
    float8 h = acc.lo + acc.hi;
    float4 q = h.lo + h.hi;
    Z[(size_t)i * ldz + c] = s + (q.x + q.y) + (q.z + q.w);
  }
}

/* Any transpose combination, one work-item per element of C: correct everywhere, fast
 * nowhere; used only for the shapes the tiled kernels do not take. Range (n, m). */
__kernel void fm_gemm_any(int m, int n, int k, float alpha, __global const float *A, int offa,
                          int lda, int trans_a, __global const float *B, int offb, int ldb,
                          int trans_b, float beta, __global float *C, int offc, int ldc) {
  int j = get_global_id(0), i = get_global_id(1);
  if (j >= n || i >= m) return;
  A += offa, B += offb, C += offc;
  float s = 0.0f;
  for (int p = 0; p < k; p++) {
    float a = trans_a ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p];
    float b = trans_b ? B[(size_t)j * ldb + p] : B[(size_t)p * ldb + j];
    s = mad(a, b, s);
  }
  __global float *c = C + (size_t)i * ldc + j;
  *c = alpha * s + (beta != 0.0f ? beta * *c : 0.0f);
}
