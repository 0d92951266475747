/* fmcl's own matrix products for devices where CLBlast's defaults are slow (CPUs through
 * PoCL). One work-item computes an 8-row by 32-column tile of C held in sixteen float16
 * accumulators: per step of k it broadcasts one scalar of A per row against a float16 row
 * pair of B. No local memory and no barriers, so PoCL turns each work-item into straight
 * AVX-512 code. Row-major; C = alpha op(A) B + beta C with op(A) = A or A^T. */

#define FM_TILE_M 8
#define FM_TILE_N 32

/* Declares and zeroes the accumulators of row r. */
#define ACC_DECL(r) float16 c##r##a = (float16)(0.0f), c##r##b = (float16)(0.0f);
#define ACC_ALL(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

/* Row r of the tile takes scalar s times the B row pair (b0, b1). Written as a * b + c,
 * not mad(): PoCL lowers the vector mad() builtin elementwise, while the expression with
 * -cl-mad-enable becomes AVX-512 FMAs (about 1.6x faster measured). */
#define FMA_ROW(r, s)                                                                      \
  c##r##a += (s) * b0;                                                                     \
  c##r##b += (s) * b1;

/* Writes row r of the tile when it exists; the full-width case uses vector stores. */
#define STORE_ROW(r)                                                                       \
  if (i0 + r < m) {                                                                        \
    __global float *crow = C + (size_t)(i0 + r) * ldc + j0;                                \
    if (full_n) {                                                                          \
      float16 o0 = alpha * c##r##a, o1 = alpha * c##r##b;                                  \
      if (beta != 0.0f) {                                                                  \
        o0 = mad((float16)(beta), vload16(0, crow), o0);                                   \
        o1 = mad((float16)(beta), vload16(0, crow + 16), o1);                              \
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

/* Loads the first cols (< 32) of a row of B into (b0, b1), zeros after them. */
inline void load_b_partial(__global const float *row, int cols, float16 *b0, float16 *b1) {
  float tmp[32];
  for (int j = 0; j < 32; j++) tmp[j] = j < cols ? row[j] : 0.0f;
  *b0 = vload16(0, tmp);
  *b1 = vload16(0, tmp + 16);
}

/* C (m, n) = alpha A (m, k) B (k, n) + beta C. Range (ceil(n/32), ceil(m/8)). Rows past m
 * read row m - 1 (valid memory) and are not stored, so the inner loop has no branches. */
__kernel void fm_gemm_nn(int m, int n, int k, float alpha, __global const float *A, int offa,
                         int lda, __global const float *B, int offb, int ldb, float beta,
                         __global float *C, int offc, int ldc) {
  int j0 = get_global_id(0) * FM_TILE_N, i0 = get_global_id(1) * FM_TILE_M;
  if (j0 >= n || i0 >= m) return;
  A += offa, B += offb, C += offc;
  int full_n = j0 + FM_TILE_N <= n;
  __global const float *a0 = A + (size_t)min(i0 + 0, m - 1) * lda;
  __global const float *a1 = A + (size_t)min(i0 + 1, m - 1) * lda;
  __global const float *a2 = A + (size_t)min(i0 + 2, m - 1) * lda;
  __global const float *a3 = A + (size_t)min(i0 + 3, m - 1) * lda;
  __global const float *a4 = A + (size_t)min(i0 + 4, m - 1) * lda;
  __global const float *a5 = A + (size_t)min(i0 + 5, m - 1) * lda;
  __global const float *a6 = A + (size_t)min(i0 + 6, m - 1) * lda;
  __global const float *a7 = A + (size_t)min(i0 + 7, m - 1) * lda;
  ACC_ALL(ACC_DECL)
  if (full_n) {
    __global const float *bp = B + j0;
    for (int p = 0; p < k; p++, bp += ldb) {
      float16 b0 = vload16(0, bp), b1 = vload16(0, bp + 16);
      FMA_ROW(0, a0[p]) FMA_ROW(1, a1[p]) FMA_ROW(2, a2[p]) FMA_ROW(3, a3[p])
      FMA_ROW(4, a4[p]) FMA_ROW(5, a5[p]) FMA_ROW(6, a6[p]) FMA_ROW(7, a7[p])
    }
  } else {
    for (int p = 0; p < k; p++) {
      float16 b0, b1;
      load_b_partial(B + (size_t)p * ldb + j0, n - j0, &b0, &b1);
      FMA_ROW(0, a0[p]) FMA_ROW(1, a1[p]) FMA_ROW(2, a2[p]) FMA_ROW(3, a3[p])
      FMA_ROW(4, a4[p]) FMA_ROW(5, a5[p]) FMA_ROW(6, a6[p]) FMA_ROW(7, a7[p])
    }
  }
  ACC_ALL(STORE_ROW)
}

/* The 8 values of A^T for the tile's rows at step p: A's row p from column i0 (zeros past
 * column m). */
inline float8 load_a_partial(__global const float *arow, int cols) {
  float tmp[8];
  for (int r = 0; r < 8; r++) tmp[r] = r < cols ? arow[r] : 0.0f;
  return vload8(0, tmp);
}

/* C (m, n) = alpha A^T B + beta C with A stored (k, m): the tile's 8 scalars of A at step p
 * are adjacent, one float8 load. Range as fm_gemm_nn. */
__kernel void fm_gemm_tn(int m, int n, int k, float alpha, __global const float *A, int offa,
                         int lda, __global const float *B, int offb, int ldb, float beta,
                         __global float *C, int offc, int ldc) {
  int j0 = get_global_id(0) * FM_TILE_N, i0 = get_global_id(1) * FM_TILE_M;
  if (j0 >= n || i0 >= m) return;
  A += offa, B += offb, C += offc;
  int full_n = j0 + FM_TILE_N <= n, full_m = i0 + FM_TILE_M <= m;
  ACC_ALL(ACC_DECL)
  if (full_n && full_m) {
    __global const float *ap = A + i0, *bp = B + j0;
    for (int p = 0; p < k; p++, ap += lda, bp += ldb) {
      float16 b0 = vload16(0, bp), b1 = vload16(0, bp + 16);
      float8 av = vload8(0, ap);
      FMA_ROW(0, av.s0) FMA_ROW(1, av.s1) FMA_ROW(2, av.s2) FMA_ROW(3, av.s3)
      FMA_ROW(4, av.s4) FMA_ROW(5, av.s5) FMA_ROW(6, av.s6) FMA_ROW(7, av.s7)
    }
  } else {
    for (int p = 0; p < k; p++) {
      float16 b0, b1;
      load_b_partial(B + (size_t)p * ldb + j0, min(n - j0, FM_TILE_N), &b0, &b1);
      float8 av = load_a_partial(A + (size_t)p * lda + i0, m - i0);
      FMA_ROW(0, av.s0) FMA_ROW(1, av.s1) FMA_ROW(2, av.s2) FMA_ROW(3, av.s3)
      FMA_ROW(4, av.s4) FMA_ROW(5, av.s5) FMA_ROW(6, av.s6) FMA_ROW(7, av.s7)
    }
  }
  ACC_ALL(STORE_ROW)
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
