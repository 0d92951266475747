/* Matrix products C = alpha op(A) op(B) + beta C on the device, row-major, through one
 * interface whatever computes them. */
#ifndef FMCL_GEMM_H
#define FMCL_GEMM_H

#include "fmcl/constants.h"
#include "fmcl/device.h"
#include "fmcl/types.h"

/* A row-major matrix inside a buffer: element (i, j) is mem[offset + i * ld + j]. */
typedef struct fm_matrix {
  cl_mem mem;
  size_t offset; /* in floats */
  size_t ld;     /* row stride in floats */
} fm_matrix;

/* The provider that computes a product on dev: auto is the device's default, and fmcl
 * means fmcl's GPU kernels on any device that is not a CPU. */
fm_gemm_provider fm_gemm_resolve(const fm_device *dev, fm_gemm_provider provider);

/* The MLP's three products of a layer with weight W (out, in) on a batch of rows, and how
 * each is asked of a provider:
 *   forward      Z (rows, out) = A (rows, in) W^T       trans_b
 *   weight_grad  dW (out, in)  = G (rows, out)^T A      trans_a
 *   backward     G' (rows, in) = G (rows, out) W         neither */
typedef enum fm_gemm_op { FM_OP_FORWARD, FM_OP_WEIGHT_GRAD, FM_OP_BACKWARD } fm_gemm_op;

extern const char *const fm_gemm_op_names[]; /* "forward", "weight_grad", "backward" */

/* The shape of fmcl's GPU products (cl/gemm_gpu.cl's -D options): work-groups of wg_n x
 * wg_m items, each item_m x item_n accumulators, panels tile_k deep. */
typedef struct fm_gpu_tile {
  int wg_m, wg_n, item_m, item_n, tile_k;
} fm_gpu_tile;

/* The defaults of fmcl/constants.h. */
fm_gpu_tile fm_gpu_tile_default(void);

/* Whether dev can run the tile (work-group size and local memory), and its -D options. */
int fm_gpu_tile_fits(const fm_device *dev, const fm_gpu_tile *tile);

/* Fits tile to what the driver allows its kernels on dev (which may be fewer work-items
 * than the device's maximum): its work-group halved until they allow it. Builds the tile's
 * program; an error names what a tile that cannot fit needs. */
fm_status fm_gpu_tile_fit(fm_device *dev, fm_gpu_tile *tile);
void fm_gpu_tile_options(const fm_gpu_tile *tile, char *out, size_t size);

/* Who computes a product: a provider and, for fmcl's GPU kernels, their tile. */
typedef struct fm_gemm_impl {
  fm_gemm_provider provider;
  fm_gpu_tile tile;
} fm_gemm_impl;

/* What `fmcl tune` found for one device: who computes each product (by operation and
 * shape), and CLBlast parameters for its Xgemm and XgemmDirect kernels when tuned sets
 * won (CLBlastOverrideParameters). */
typedef struct fm_gemm_choice {
  fm_gemm_op op;
  size_t m, n, k;
  fm_gemm_impl impl;
} fm_gemm_choice;

#define FM_CLBLAST_MAX_PARAMS 20

/* One kernel's parameter set; n 0 for CLBlast's own. */
typedef struct fm_clblast_params {
  int n;
  char names[FM_CLBLAST_MAX_PARAMS][16];
  size_t values[FM_CLBLAST_MAX_PARAMS];
} fm_clblast_params;

typedef struct fm_gemm_tuning {
  int n_choices;
  fm_gemm_choice *choices;
  fm_clblast_params xgemm, xgemm_direct;
} fm_gemm_tuning;

/* Who computes a product: the tuned choice for an operation and shape the tuning measured,
 * else provider resolved with tile (fm_gpu_tile_fit's). */
fm_gemm_impl fm_gemm_choose(const fm_gemm_tuning *tuning, const fm_device *dev,
                            fm_gemm_provider provider, const fm_gpu_tile *tile, fm_gemm_op op,
                            size_t m, size_t n, size_t k);

/* Sets the parameters of CLBlast's kernel ("Xgemm" or "XgemmDirect") on the device; a set
 * of none leaves CLBlast's own. */
fm_status fm_gemm_set_clblast_params(fm_device *dev, const char *kernel,
                                     const fm_clblast_params *params);

/* op(A) is (m, k), op(B) is (k, n), C is (m, n); trans_a / trans_b select A^T / B^T.
 * fmcl's kernels are fast for op(B) = B; A B^T works but slowly. */
fm_status fm_gemm(fm_device *dev, fm_gemm_provider provider, int trans_a, int trans_b, size_t m,
                  size_t n, size_t k, float alpha, fm_matrix a, fm_matrix b, float beta,
                  fm_matrix c);

/* As fm_gemm, by a chosen implementation (fmcl's GPU kernels with its tile). */
fm_status fm_gemm_by(fm_device *dev, const fm_gemm_impl *impl, int trans_a, int trans_b,
                     size_t m, size_t n, size_t k, float alpha, fm_matrix a, fm_matrix b,
                     float beta, fm_matrix c);

/* fmcl's GPU products (cl/gemm_gpu.cl): the plain product, and those with the fused
 * epilogues of a layer. */
fm_status fm_gpu_gemm(fm_device *dev, const fm_gpu_tile *tile, int trans_a, int trans_b, size_t m,
                      size_t n, size_t k, float alpha, fm_matrix a, fm_matrix b, float beta,
                      fm_matrix c);

/* h (m, n) = act(A W^T + params[bias_at ...]), W (n, k) as stored in the parameters, and
 * d = act'(...) unless d is NULL; both with row stride ldc. act as fm_gemm_bias_act. */
fm_status fm_gpu_gemm_bias_act(fm_device *dev, const fm_gpu_tile *tile, size_t m, size_t n,
                               size_t k, fm_matrix a, fm_matrix w, cl_mem params, size_t bias_at,
                               const char *act, cl_mem d, cl_mem h, size_t ldc);

/* g (m, n) = (A B) * d elementwise (row stride ldc) and, when partial is not NULL,
 * partial[r ldp + at + j] = the sum of column j of g over row tile r, for the
 * fm_gpu_row_tiles(tile, m) tiles: the first pass of the next bias gradient. */
fm_status fm_gpu_gemm_times(fm_device *dev, const fm_gpu_tile *tile, size_t m, size_t n,
                            size_t k, fm_matrix a, fm_matrix b, cl_mem d, cl_mem g, size_t ldc,
                            cl_mem partial, size_t ldp, size_t at);

/* Row tiles of an m-row product. */
size_t fm_gpu_row_tiles(const fm_gpu_tile *tile, size_t m);

/* Fused products with fmcl's kernels (any device; the MLP uses them when the provider is
 * fmcl). act names an activation of cl/activation.cl: "none", "silu", "relu", "tanh",
 * "gelu". */

/* h (m, n) = act(A B + params[bias_at ...]) and d = act'(A B + params[bias_at ...]), both
 * with row stride ldc: the forward pass keeps d for the backward pass. With d NULL only h
 * is written (sampling; act "none" takes only NULL). */
fm_status fm_gemm_bias_act(fm_device *dev, size_t m, size_t n, size_t k, fm_matrix a, fm_matrix b,
                           cl_mem params, size_t bias_at, const char *act, cl_mem d, cl_mem h,
                           size_t ldc);

/* g (m, n) = (A B) * d elementwise, both with row stride ldc: the gradient passed back
 * through a layer, d being its activation's derivative from fm_gemm_bias_act. */
fm_status fm_gemm_times(fm_device *dev, size_t m, size_t n, size_t k, fm_matrix a, fm_matrix b,
                        cl_mem d, cl_mem g, size_t ldc);

/* Widths up to FM_GEMM_THIN (fmcl/constants.h) take the thin kernels (one work-item per
 * row or column). */
/* C = A^T B with A stored (k, m), and sums[sums_at + i] = sum_p A[p, i]. Thin m or n (the
 * MLP's output and input layers), and up to FM_GEMM_THIN columns past the last whole tile,
 * take dedicated kernels. */
fm_status fm_gemm_tn_colsum(fm_device *dev, size_t m, size_t n, size_t k, fm_matrix a,
                            fm_matrix b, fm_matrix c, cl_mem sums, size_t sums_at);

/* Whether fm_gemm_tn_colsum takes (m, n) with the tiled kernel alone. */
int fm_gemm_tn_tiled(size_t m, size_t n);

/* C = A B with A (m, k), and sums[sums_at + i] = sum_p A[i, p]: the same weight and bias
 * gradients as fm_gemm_tn_colsum, to the bit, from the output gradient stored transposed.
 * On PoCL a transpose plus this product beats the tiled A^T B (whose reads of A^T use half
 * of each cache line) for wide layers; the MLP uses it from 512 inputs and outputs on. */
fm_status fm_gemm_nn_rowsum(fm_device *dev, size_t m, size_t n, size_t k, fm_matrix a,
                            fm_matrix b, fm_matrix c, cl_mem sums, size_t sums_at);

/* z (m, n) = A W^T + params[bias_at ...] for n <= FM_GEMM_THIN, with W (n, k) stored
 * packed (ld = k) as in the parameters: the output layer without a transposed copy. */
fm_status fm_gemm_nt_bias(fm_device *dev, size_t m, size_t n, size_t k, fm_matrix a, fm_matrix w,
                          cl_mem params, size_t bias_at, cl_mem z, size_t ldz);

/* The CLBlast version fmcl was built against ("1.5.3"); CLBlast has no run-time query. */
const char *fm_gemm_clblast_version(void);

#endif
