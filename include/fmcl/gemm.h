/* Matrix products C = alpha op(A) op(B) + beta C on the device, row-major, through one
 * interface whatever computes them. */
#ifndef FMCL_GEMM_H
#define FMCL_GEMM_H

#include "fmcl/device.h"

/* A row-major matrix inside a buffer: element (i, j) is mem[offset + i * ld + j]. */
typedef struct fm_matrix {
  cl_mem mem;
  size_t offset; /* in floats */
  size_t ld;     /* row stride in floats */
} fm_matrix;

/* op(A) is (m, k), op(B) is (k, n), C is (m, n); trans_a / trans_b select A^T / B^T. */
fm_status fm_gemm(fm_device *dev, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                  float alpha, fm_matrix a, fm_matrix b, float beta, fm_matrix c);

/* The CLBlast version fmcl was built against ("1.5.3"); CLBlast has no run-time query. */
const char *fm_gemm_clblast_version(void);

#endif
