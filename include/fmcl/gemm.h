/* Matrix products C = alpha op(A) op(B) + beta C on the device, row-major, through one
 * interface whatever computes them. */
#ifndef FMCL_GEMM_H
#define FMCL_GEMM_H

#include "fmcl/device.h"
#include "fmcl/types.h"

/* A row-major matrix inside a buffer: element (i, j) is mem[offset + i * ld + j]. */
typedef struct fm_matrix {
  cl_mem mem;
  size_t offset; /* in floats */
  size_t ld;     /* row stride in floats */
} fm_matrix;

/* The provider auto stands for on dev; others are returned unchanged. */
fm_gemm_provider fm_gemm_resolve(const fm_device *dev, fm_gemm_provider provider);

/* What `fmcl tune` found for one device: the provider per product shape, and CLBlast
 * parameters (CLBlastOverrideParameters for its Xgemm kernel) when a tuned set won. */
typedef struct fm_gemm_choice {
  int trans_a; /* 0: A B (forward, gradient passed back), 1: A^T B (weight gradient) */
  size_t m, n, k;
  fm_gemm_provider provider;
} fm_gemm_choice;

#define FM_CLBLAST_MAX_PARAMS 20

typedef struct fm_gemm_tuning {
  int n_choices;
  fm_gemm_choice *choices;
  int n_params; /* 0: CLBlast's own parameters */
  char param_names[FM_CLBLAST_MAX_PARAMS][16];
  size_t param_values[FM_CLBLAST_MAX_PARAMS];
} fm_gemm_tuning;

/* The provider for a product: the tuned one for a shape the tuning measured, else auto's. */
fm_gemm_provider fm_gemm_tuned_provider(const fm_gemm_tuning *tuning, const fm_device *dev,
                                        int trans_a, size_t m, size_t n, size_t k);

/* Sets CLBlast's Xgemm parameters on the device (n_params 0: its defaults). */
fm_status fm_gemm_set_clblast_params(fm_device *dev, int n_params, const char (*names)[16],
                                     const size_t *values);

/* op(A) is (m, k), op(B) is (k, n), C is (m, n); trans_a / trans_b select A^T / B^T.
 * fmcl's kernels are fast for op(B) = B; A B^T works but slowly. */
fm_status fm_gemm(fm_device *dev, fm_gemm_provider provider, int trans_a, int trans_b, size_t m,
                  size_t n, size_t k, float alpha, fm_matrix a, fm_matrix b, float beta,
                  fm_matrix c);

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

/* Widths up to this take the thin kernels (one work-item per row or column). */
#define FM_GEMM_THIN 8

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
