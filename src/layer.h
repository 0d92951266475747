/* A layer's kernels besides its matrix product (cl/mlp.cl, cl/mlp_thin.cl), each launched
 * with its own geometry: the input features, the epilogues that follow a CLBlast product,
 * the thin input and output layers of the GPU path, and the two passes of the bias
 * gradients. Internal to the MLP. Matrices are row-major with rows = batch. */
#ifndef FMCL_LAYER_H
#define FMCL_LAYER_H

#include "fmcl/device.h"

/* The first passes of the bias gradients: partial[g ldp + at + j] is the sum of column j of
 * a layer's gradient over row group g (at: the layer's first column). */
typedef struct fm_partials {
  cl_mem mem;
  size_t ldp;
} fm_partials;

/* Row groups of the striding first passes over n rows (the layer kernels' FM_REDUCE_WG
 * rows each). */
fm_status fm_layer_groups(fm_device *dev, size_t n, size_t *groups);

/* in (n, dim + 1 + 2 n_freq + n_classes) = [x, t, sin/cos features, one-hot labels]. */
fm_status fm_layer_input(fm_device *dev, cl_mem x, cl_mem t, cl_mem labels, int n, int dim,
                         int n_freq, int n_classes, cl_mem in);

/* After a product in zd (n, width): h = act(zd + b), zd = act'(zd + b); b at params[b_at]. */
fm_status fm_layer_bias_act(fm_device *dev, const char *act, cl_mem zd, cl_mem h, cl_mem params,
                            size_t b_at, int n, int width);

/* y (n, width) += b. */
fm_status fm_layer_bias_add(fm_device *dev, cl_mem y, cl_mem params, size_t b_at, int n,
                            int width);

/* g (n, width) *= d, and when p is not NULL the first pass of g's column sums into p at
 * column at, over fm_layer_groups(n) groups. */
fm_status fm_layer_times(fm_device *dev, cl_mem g, cl_mem d, int n, int width,
                         const fm_partials *p, size_t at);

/* The first pass of g's column sums alone. */
fm_status fm_layer_column_partials(fm_device *dev, cl_mem g, int n, int width,
                                   const fm_partials *p, size_t at);

/* grads[dest[j]] = sum over groups of p's column j, for j in [first, first + count). */
fm_status fm_layer_column_finish(fm_device *dev, const fm_partials *p, size_t groups,
                                 size_t first, size_t count, cl_mem dest, cl_mem grads);

/* The thin input layer (in <= FM_THIN_IN): its input rows into in, and h = act(in W^T + b),
 * d = act'(...) unless d is NULL; W (width, in) at params[w_at], b at params[b_at]. */
fm_status fm_layer_thin_input(fm_device *dev, const char *act, cl_mem x, cl_mem t, cl_mem labels,
                              int n, int dim, int n_freq, int n_classes, cl_mem in,
                              cl_mem params, size_t w_at, size_t b_at, int width, cl_mem d,
                              cl_mem h);

/* The thin output layer (dim <= FM_GEMM_THIN): out (n, dim) = h (n, k) W^T + b. */
fm_status fm_layer_thin_output(fm_device *dev, cl_mem h, int n, int k, cl_mem params,
                               size_t w_at, size_t b_at, int dim, cl_mem out);

/* The thin output layer's gradients from g (n, dim) and its input h (n, k). */
fm_status fm_layer_thin_output_grad(fm_device *dev, cl_mem g, cl_mem h, int n, int dim, int k,
                                    cl_mem grads, size_t w_at, size_t b_at);

/* The thin input layer's gradients from g (n, width) and its input x (n, in). */
fm_status fm_layer_thin_input_grad(fm_device *dev, cl_mem g, cl_mem x, int n, int width, int in,
                                   cl_mem grads, size_t w_at, size_t b_at);

/* The gradient passed back through the thin output layer: g (n, k) = (dv (n, dim) W) * d,
 * with the first pass of its column sums when p is not NULL. */
fm_status fm_layer_thin_output_back(fm_device *dev, cl_mem dv, int n, int dim, cl_mem params,
                                    size_t w_at, int k, cl_mem d, cl_mem g,
                                    const fm_partials *p, size_t at);

/* dst (cols, rows) at dst_at, its rows ld apart (ld >= rows), = src (rows, cols) at at,
 * transposed. */
fm_status fm_layer_transpose(fm_device *dev, cl_mem src, size_t at, cl_mem dst, size_t dst_at,
                             int rows, int cols, int ld);

/* dst (rows, cols) at dst_at, its rows ld apart (ld >= cols), = src (rows, cols) at at. */
fm_status fm_layer_copy_strided(fm_device *dev, cl_mem src, size_t at, cl_mem dst,
                                size_t dst_at, int rows, int cols, int ld);

/* Tangents: the input layer's [tx, 0...] (rows, width), and blocks of n rows times d. */
fm_status fm_layer_tangent_input(fm_device *dev, cl_mem tx, cl_mem tin, size_t rows, int dim,
                                 int width);
fm_status fm_layer_tangent_times(fm_device *dev, cl_mem tg, cl_mem d, int n, int k, int width);

/* A residual model's layer normalisation: s (n, width) += prev unless prev is NULL, then
 * y = the rows of s normalised, rstd (n) their 1 / sqrt(var + eps). */
fm_status fm_layer_norm(fm_device *dev, cl_mem s, cl_mem prev, cl_mem y, cl_mem rstd, int n,
                        int width);

/* Through the normalisation of the last fm_layer_norm (y, rstd): out (rows, width) = J g,
 * or out += J g with accumulate; row i of g is at the point i % period. J is symmetric:
 * this is the backward pass and the tangent's forward pass both. */
fm_status fm_layer_norm_back(fm_device *dev, cl_mem g, cl_mem y, cl_mem rstd, cl_mem out,
                             int accumulate, size_t rows, int width, int period);

#endif
