/* fmcl's matrix products for GPUs (cl/activation.cl and cl/reduce.cl come first). A
 * work-group of FM_GPU_WG_N x FM_GPU_WG_M items computes a tile of C of TM x TN, each item
 * FM_GPU_ITEM_M x FM_GPU_ITEM_N accumulators in registers, through FM_GPU_TILE_K-deep
 * panels of A and B staged in local memory. Item (tx, ty) owns rows ty + r WG_M and
 * columns tx + c WG_N of the tile, so neighbouring items read neighbouring floats of the
 * B panel and write neighbouring floats of C. The host chooses the shape with -D options
 * (fmcl tune measures several); the defaults are in fmcl/constants.h.
 *
 * op(A) and op(B) take a transpose flag at run time (one branch per panel load, the same
 * for the whole work-group). The epilogues are those of the CPU kernels: bias, activation
 * and its derivative in the forward pass, the product with that derivative in the backward
 * pass, and here also the column sums of that product per row tile (the next bias
 * gradient's first pass, cl/reduce.cl's fm_column_finish the second). */

/* What the runtime puts in front of this file in its program (src/kernels.c), for a
 * compiler given the file alone (clang by hand, an editor). */
#ifndef FMCL_JOINED
#include "../include/fmcl/constants.h"
#include "activation.cl"
#include "reduce.cl"
#endif

#ifndef FM_GPU_WG_M
#define FM_GPU_WG_M FM_GPU_DEFAULT_WG_M
#endif
#ifndef FM_GPU_WG_N
#define FM_GPU_WG_N FM_GPU_DEFAULT_WG_N
#endif
#ifndef FM_GPU_ITEM_M
#define FM_GPU_ITEM_M FM_GPU_DEFAULT_ITEM_M
#endif
#ifndef FM_GPU_ITEM_N
#define FM_GPU_ITEM_N FM_GPU_DEFAULT_ITEM_N
#endif
#ifndef FM_GPU_TILE_K
#define FM_GPU_TILE_K FM_GPU_DEFAULT_TILE_K
#endif

#define FM_GPU_TM (FM_GPU_WG_M * FM_GPU_ITEM_M)
#define FM_GPU_TN (FM_GPU_WG_N * FM_GPU_ITEM_N)
#define FM_GPU_ITEMS (FM_GPU_WG_M * FM_GPU_WG_N)
#define FM_GPU_SHAPE __attribute__((reqd_work_group_size(FM_GPU_WG_N, FM_GPU_WG_M, 1)))

/* acc = the tile's share of op(A) op(B), op(A) (m, k), op(B) (k, n); A is stored (k, m)
 * when ta, B (n, k) when tb. Values outside the matrices load as zeros. */
static inline void fm_gpu_product(int m, int n, int k, __global const float *A, int lda, int ta,
                                  __global const float *B, int ldb, int tb, __local float *As,
                                  __local float *Bs, float acc[FM_GPU_ITEM_M][FM_GPU_ITEM_N]) {
  int tx = get_local_id(0), ty = get_local_id(1), lid = ty * FM_GPU_WG_N + tx;
  int i0 = get_group_id(1) * FM_GPU_TM, j0 = get_group_id(0) * FM_GPU_TN;
  for (int r = 0; r < FM_GPU_ITEM_M; r++)
    for (int c = 0; c < FM_GPU_ITEM_N; c++) acc[r][c] = 0.0f;
  for (int p0 = 0; p0 < k; p0 += FM_GPU_TILE_K) {
    /* Neighbouring items load neighbouring floats of whichever index is contiguous. */
    for (int e = lid; e < FM_GPU_TILE_K * FM_GPU_TM; e += FM_GPU_ITEMS) {
      int i = ta ? e % FM_GPU_TM : e / FM_GPU_TILE_K, p = ta ? e / FM_GPU_TM : e % FM_GPU_TILE_K;
      int gi = i0 + i, gp = p0 + p;
      float v = 0.0f;
      if (gi < m && gp < k) v = ta ? A[(size_t)gp * lda + gi] : A[(size_t)gi * lda + gp];
      As[p * FM_GPU_TM + i] = v;
    }
    for (int e = lid; e < FM_GPU_TILE_K * FM_GPU_TN; e += FM_GPU_ITEMS) {
      int j = tb ? e / FM_GPU_TILE_K : e % FM_GPU_TN, p = tb ? e % FM_GPU_TILE_K : e / FM_GPU_TN;
      int gj = j0 + j, gp = p0 + p;
      float v = 0.0f;
      if (gj < n && gp < k) v = tb ? B[(size_t)gj * ldb + gp] : B[(size_t)gp * ldb + gj];
      Bs[p * FM_GPU_TN + j] = v;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int p = 0; p < FM_GPU_TILE_K; p++) {
      float a[FM_GPU_ITEM_M], b[FM_GPU_ITEM_N];
      for (int r = 0; r < FM_GPU_ITEM_M; r++) a[r] = As[p * FM_GPU_TM + ty + r * FM_GPU_WG_M];
      for (int c = 0; c < FM_GPU_ITEM_N; c++) b[c] = Bs[p * FM_GPU_TN + tx + c * FM_GPU_WG_N];
      for (int r = 0; r < FM_GPU_ITEM_M; r++)
        for (int c = 0; c < FM_GPU_ITEM_N; c++) acc[r][c] += a[r] * b[c];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
}

/* The element of C that accumulator (r, c) of this item holds. */
#define FM_GPU_ROW(r) (get_group_id(1) * FM_GPU_TM + get_local_id(1) + (r) * FM_GPU_WG_M)
#define FM_GPU_COL(c) (get_group_id(0) * FM_GPU_TN + get_local_id(0) + (c) * FM_GPU_WG_N)

/* The panels in local memory come as arguments (FM_GPU_TILE_K TM and FM_GPU_TILE_K TN
 * floats), so each kernel holds only its own: some compilers give every kernel of a
 * program the local arrays of all of them. */
#define FM_GPU_PANELS __local float *As, __local float *Bs

/* C = alpha op(A) op(B) + beta C (C is not read when beta is 0). Range (ceil(n / TN) WG_N,
 * ceil(m / TM) WG_M). */
__kernel FM_GPU_SHAPE void fm_gpu_gemm(int m, int n, int k, float alpha, __global const float *A,
                                       int offa, int lda, int ta, __global const float *B,
                                       int offb, int ldb, int tb, float beta, __global float *C,
                                       int offc, int ldc, FM_GPU_PANELS) {
  float acc[FM_GPU_ITEM_M][FM_GPU_ITEM_N];
  fm_gpu_product(m, n, k, A + offa, lda, ta, B + offb, ldb, tb, As, Bs, acc);
  C += offc;
  for (int r = 0; r < FM_GPU_ITEM_M; r++)
    for (int c = 0; c < FM_GPU_ITEM_N; c++) {
      int i = FM_GPU_ROW(r), j = FM_GPU_COL(c);
      if (i >= m || j >= n) continue;
      __global float *at = C + (size_t)i * ldc + j;
      *at = beta == 0.0f ? alpha * acc[r][c] : alpha * acc[r][c] + beta * *at;
    }
}

/* A layer's forward pass: with z = A W^T + params[bias_at ...] (W stored (n, k) as in the
 * parameters), H = act(z) and, when keep_d, D = act'(z); row stride ldc. */
#define FM_GPU_BIAS_ACT(act)                                                               \
  __kernel FM_GPU_SHAPE void fm_gpu_gemm_bias_##act(                                       \
      int m, int n, int k, __global const float *A, int offa, int lda,                     \
      __global const float *W, int offw, int ldw, __global const float *params,            \
      int bias_at, int keep_d, __global float *D, __global float *H, int ldc,              \
      FM_GPU_PANELS) {                                                                     \
    float acc[FM_GPU_ITEM_M][FM_GPU_ITEM_N];                                               \
    fm_gpu_product(m, n, k, A + offa, lda, 0, W + offw, ldw, 1, As, Bs, acc);              \
    for (int r = 0; r < FM_GPU_ITEM_M; r++)                                                \
      for (int c = 0; c < FM_GPU_ITEM_N; c++) {                                            \
        int i = FM_GPU_ROW(r), j = FM_GPU_COL(c);                                          \
        if (i >= m || j >= n) continue;                                                    \
        float d;                                                                           \
        size_t at = (size_t)i * ldc + j;                                                   \
        H[at] = fm_act_##act(acc[r][c] + params[bias_at + j], &d);                         \
        if (keep_d) D[at] = d;                                                             \
      }                                                                                    \
  }

FM_GPU_BIAS_ACT(none)
FM_GPU_BIAS_ACT(silu)
FM_GPU_BIAS_ACT(relu)
FM_GPU_BIAS_ACT(tanh)
FM_GPU_BIAS_ACT(gelu)

/* The gradient passed back through a layer: G = (A B) * D elementwise (row stride ldc), and
 * when want_partial, partial[tile row * ldp + at + j] = the sum of G's column j over the
 * tile's rows (sums: FM_GPU_WG_M TN floats of local memory). */
__kernel FM_GPU_SHAPE void fm_gpu_gemm_times(int m, int n, int k, __global const float *A,
                                             int offa, int lda, __global const float *B,
                                             int offb, int ldb, __global const float *D,
                                             __global float *G, int ldc, int want_partial,
                                             __global float *partial, int ldp, int at,
                                             FM_GPU_PANELS, __local float *sums) {
  float acc[FM_GPU_ITEM_M][FM_GPU_ITEM_N];
  fm_gpu_product(m, n, k, A + offa, lda, 0, B + offb, ldb, 0, As, Bs, acc);
  int tx = get_local_id(0), ty = get_local_id(1);
  for (int c = 0; c < FM_GPU_ITEM_N; c++) {
    float s = 0.0f;
    int j = FM_GPU_COL(c);
    for (int r = 0; r < FM_GPU_ITEM_M; r++) {
      int i = FM_GPU_ROW(r);
      if (i >= m || j >= n) continue;
      size_t e = (size_t)i * ldc + j;
      float g = acc[r][c] * D[e];
      G[e] = g;
      s += g;
    }
    sums[ty * FM_GPU_TN + tx + c * FM_GPU_WG_N] = s;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  /* Row 0 of items adds up the WG_M rows' sums of each of the tile's columns. */
  if (want_partial && ty == 0)
    for (int c = 0; c < FM_GPU_ITEM_N; c++) {
      int col = tx + c * FM_GPU_WG_N, j = FM_GPU_COL(c);
      float s = 0.0f;
      for (int y = 0; y < FM_GPU_WG_M; y++) s += sums[y * FM_GPU_TN + col];
      if (j < n) partial[(size_t)get_group_id(1) * ldp + at + j] = s;
    }
}
