/* The velocity field v_theta(x, t): a multilayer perceptron on [x, t, time features] with
 * hidden layers of an activation and a linear output of the data's dimension; or, with
 * residual, the same linear layers wired as residual blocks of layer normalisation (the
 * model for images, below). Parameters
 * and gradients are each one flat device buffer; layer l's weight W_l (out, in), row-major
 * as in PyTorch, and its bias b_l (out) sit at fixed offsets in it. */
#ifndef FMCL_MLP_H
#define FMCL_MLP_H

#include "fmcl/device.h"
#include "fmcl/gemm.h"
#include "fmcl/types.h"

typedef struct fm_mlp_shape {
  int dim;           /* data dimension: input x and output v */
  int time_features; /* sin/cos pairs of t added to the input */
  int classes;       /* one-hot class inputs (0: unconditional) */
  int n_hidden;
  int hidden[FM_MAX_HIDDEN];
  fm_activation activation;
  /* Residual blocks: hidden = [w, f1, w, f2, w, ...] (an odd count, every even entry the
   * stream's width w). Layer 0 makes the stream s_0 = act(W_0 in + b_0); block k is
   * s_k = s_{k-1} + W_{2k} act(W_{2k-1} norm(s_{k-1}) + b_{2k-1}) + b_{2k}, norm the layer
   * normalisation of each row; the output is W_L norm(s_B) + b_L. */
  int residual;
} fm_mlp_shape;

typedef struct fm_mlp fm_mlp;

/* Creates the model with zero parameters and room for batches of up to capacity rows. */
fm_status fm_mlp_create(fm_device *dev, const fm_mlp_shape *shape, int capacity, fm_mlp **out);
void fm_mlp_destroy(fm_mlp *mlp);

/* Who computes the matrix products (auto unless set); fmcl's GPU products get their tile
 * fitted to the device (fm_gpu_tile_fit). */
fm_status fm_mlp_set_gemm(fm_mlp *mlp, fm_gemm_provider provider);

/* With the provider auto: the tuned provider of each product shape (borrowed; NULL for
 * the device type's default). */
void fm_mlp_set_tuning(fm_mlp *mlp, const fm_gemm_tuning *tuning);

/* Tells the model its parameter buffer was changed on the device (by the optimizer), so
 * derived copies are refreshed before the next forward pass. */
void fm_mlp_params_changed(fm_mlp *mlp);

/* PyTorch's nn.Linear default: W and b uniform in +-1/sqrt(fan_in), from (seed, INIT). */
fm_status fm_mlp_init(fm_mlp *mlp, uint64_t seed);

/* out (n, dim) = v(x (n, dim), t (n), class labels (n ints; -1 the null class)); labels
 * may be NULL (every row the null class). Keeps the activations for fm_mlp_backward. */
fm_status fm_mlp_forward(fm_mlp *mlp, cl_mem x, cl_mem t, cl_mem labels, int n, cl_mem out);

/* As fm_mlp_forward for sampling: the same out, without keeping the activations'
 * derivatives that only a backward pass needs (less memory traffic per evaluation). The
 * activations kept for fm_mlp_backward are no longer valid afterwards. */
fm_status fm_mlp_evaluate(fm_mlp *mlp, cl_mem x, cl_mem t, cl_mem labels, int n, cl_mem out);

/* Forward-mode derivatives: out (n, dim) = v(x, t, labels) as fm_mlp_forward, and for k tangent
 * directions stacked as k blocks of n rows, tangents (k n, dim) -> out_tangents (k n, dim)
 * with row j n + i = J_x v(x_i, t_i) tangents[j n + i] (t is held fixed). The tangent
 * buffers grow to k n rows on first use. The activations of this forward pass replace
 * those kept for fm_mlp_backward. */
fm_status fm_mlp_jvp(fm_mlp *mlp, cl_mem x, cl_mem t, cl_mem labels, int n, cl_mem out,
                     cl_mem tangents, int k, cl_mem out_tangents);

/* Told during fm_mlp_backward each time a range [offset, offset + count) of the flat
 * gradient has all its commands enqueued (the device may still be computing it), the last
 * layer's first: a data-parallel trainer starts summing a range while the device computes
 * the next. An error it returns ends the backward pass. */
typedef fm_status (*fm_grads_ready)(void *ctx, size_t offset, size_t count);
void fm_mlp_watch_grads(fm_mlp *m, fm_grads_ready ready, void *ctx); /* NULL: none */

/* Gradients of the parameters into the gradient buffer (overwritten, not added) from
 * dout (n, dim) = dL/dv, for the batch of the last forward call. */
fm_status fm_mlp_backward(fm_mlp *mlp, cl_mem dout, int n);

/* Layer geometry: linear layers (hidden + output), input width, offsets in the flat
 * buffers (in floats; each layer's block starts on a 128-byte boundary). */
int fm_mlp_layers(const fm_mlp *mlp);
int fm_mlp_layer_in(const fm_mlp *mlp, int layer);
int fm_mlp_layer_out(const fm_mlp *mlp, int layer);
size_t fm_mlp_weight_offset(const fm_mlp *mlp, int layer);
size_t fm_mlp_bias_offset(const fm_mlp *mlp, int layer);

const fm_mlp_shape *fm_mlp_get_shape(const fm_mlp *mlp);
size_t fm_mlp_param_count(const fm_mlp *mlp); /* trainable numbers */
size_t fm_mlp_flat_size(const fm_mlp *mlp);   /* floats in the flat buffers, with padding */
int fm_mlp_capacity(const fm_mlp *mlp);
fm_device *fm_mlp_device(const fm_mlp *mlp);
cl_mem fm_mlp_params(const fm_mlp *mlp);
cl_mem fm_mlp_grads(const fm_mlp *mlp);

/* Multiply-adds of one forward pass per row (x2 for FLOPs; backward is about 2x that). */
double fm_mlp_macs_per_row(const fm_mlp *mlp);

/* Host copies of the flat parameter buffer (fm_mlp_flat_size floats). */
fm_status fm_mlp_read_params(fm_mlp *mlp, float *host);
fm_status fm_mlp_write_params(fm_mlp *mlp, const float *host);

#endif
