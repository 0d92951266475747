/* The MLP's forward and backward passes: matrix products through fm_gemm and the
 * elementwise kernels of cl/mlp.cl. The last forward pass leaves each hidden layer's
 * activations and their derivatives act'(z) on the device for the backward pass. */
#include "fmcl/mlp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmcl/gemm.h"
#include "fmcl/rng.h"
#include "internal.h"

#define MAX_LAYERS (FM_MAX_HIDDEN + 1)

/* Widths (inputs and outputs) from which a layer's weight gradient is the NN product of
 * its transposed output gradient, not the tiled A^T B: on PoCL a 512 x 512 x 512 weight
 * gradient takes 0.2 ms less that way for a 75 us transpose; with 256 inputs, or 64
 * outputs, the transpose costs as much as it saves or more. */
#define TRANSPOSED_GRADIENT_FROM 512
#define ALIGN_FLOATS 32

struct fm_mlp {
  fm_device *dev;
  fm_mlp_shape shape;
  int n_layers;
  int in[MAX_LAYERS], out[MAX_LAYERS];
  size_t w_off[MAX_LAYERS], b_off[MAX_LAYERS];
  size_t flat_size, n_params;
  int capacity, max_width;
  cl_mem params, grads; /* (flat_size) */
  cl_mem params_t;      /* (flat_size): each W_l transposed to (in, out) at the same offset,
                           so the forward product reads B row by row */
  int params_t_stale;   /* params changed since params_t was made */
  fm_gemm_provider gemm;
  const fm_gemm_tuning *tuning; /* per-shape providers when gemm is auto, or NULL */
  cl_mem input;         /* (capacity, in[0]) */
  cl_mem d[MAX_LAYERS]; /* act'(z) of hidden layer l at its pre-activation z: (capacity, out[l]) */
  cl_mem h[MAX_LAYERS]; /* activations of hidden layer l: (capacity, out[l]) */
  cl_mem grad_a, grad_b; /* backward scratch, ping-pong: (capacity, max_width) */
  cl_mem grad_t;         /* (max_width, capacity): a layer's output gradient transposed */
  cl_kernel k_input, k_bias_act, k_times_derivative, k_bias_add, k_column_sums, k_transpose;
  cl_kernel k_tangent_input, k_tangent_times;
  int tangent_rows;          /* rows the tangent buffers hold (0 until the first JVP) */
  cl_mem tangent_a, tangent_b; /* (tangent_rows, max_width), ping-pong */
};

static size_t align_up(size_t x) { return (x + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

fm_status fm_mlp_create(fm_device *dev, const fm_mlp_shape *shape, int capacity, fm_mlp **out) {
  fm_status st = FM_OK;
  *out = NULL;
  if (shape->dim < 1 || shape->n_hidden < 1 || shape->n_hidden > FM_MAX_HIDDEN || capacity < 1)
    return fm_fail(FM_ERR_INVALID, "mlp: bad shape (dim %d, %d hidden layers, capacity %d)",
                   shape->dim, shape->n_hidden, capacity);
  fm_mlp *m = calloc(1, sizeof *m);
  if (!m) return fm_fail(FM_ERR_NOMEM, "out of host memory creating the model");
  m->dev = dev;
  m->shape = *shape;
  m->capacity = capacity;
  m->n_layers = shape->n_hidden + 1;
  size_t off = 0;
  for (int l = 0; l < m->n_layers; l++) {
    m->in[l] = l == 0 ? shape->dim + 1 + 2 * shape->time_features + shape->classes
                      : shape->hidden[l - 1];
    m->out[l] = l < shape->n_hidden ? shape->hidden[l] : shape->dim;
    m->w_off[l] = off;
    off = align_up(off + (size_t)m->in[l] * (size_t)m->out[l]);
    m->b_off[l] = off;
    off = align_up(off + (size_t)m->out[l]);
    m->n_params += (size_t)m->in[l] * (size_t)m->out[l] + (size_t)m->out[l];
    if (m->out[l] > m->max_width) m->max_width = m->out[l];
    if (m->in[l] > m->max_width) m->max_width = m->in[l];
  }
  m->flat_size = off;
  size_t cap = (size_t)capacity;
  FM_TRY(fm_device_alloc(dev, m->flat_size * sizeof(float), "model parameters", &m->params));
  FM_TRY(fm_device_alloc(dev, m->flat_size * sizeof(float), "model gradients", &m->grads));
  FM_TRY(fm_device_alloc(dev, m->flat_size * sizeof(float), "transposed weights", &m->params_t));
  m->params_t_stale = 1;
  FM_TRY(fm_device_fill(dev, m->params, 0, m->flat_size, 0.0f));
  FM_TRY(fm_device_fill(dev, m->grads, 0, m->flat_size, 0.0f));
  FM_TRY(fm_device_alloc(dev, cap * (size_t)m->in[0] * sizeof(float), "model input", &m->input));
  for (int l = 0; l < shape->n_hidden; l++) {
    size_t bytes = cap * (size_t)m->out[l] * sizeof(float);
    FM_TRY(fm_device_alloc(dev, bytes, "activation derivatives", &m->d[l]));
    FM_TRY(fm_device_alloc(dev, bytes, "hidden activations", &m->h[l]));
  }
  size_t scratch = cap * (size_t)m->max_width * sizeof(float);
  FM_TRY(fm_device_alloc(dev, scratch, "backward scratch", &m->grad_a));
  FM_TRY(fm_device_alloc(dev, scratch, "backward scratch", &m->grad_b));
  FM_TRY(fm_device_alloc(dev, scratch, "backward scratch", &m->grad_t));

  char name[64];
  const char *act = fm_activation_name(shape->activation);
  FM_TRY(fm_device_kernel(dev, "mlp", "fm_mlp_input", &m->k_input));
  snprintf(name, sizeof name, "fm_bias_%s", act);
  FM_TRY(fm_device_kernel(dev, "mlp", name, &m->k_bias_act));
  FM_TRY(fm_device_kernel(dev, "mlp", "fm_times_derivative", &m->k_times_derivative));
  FM_TRY(fm_device_kernel(dev, "mlp", "fm_bias_add", &m->k_bias_add));
  FM_TRY(fm_device_kernel(dev, "mlp", "fm_column_sums", &m->k_column_sums));
  FM_TRY(fm_device_kernel(dev, "mlp", "fm_transpose", &m->k_transpose));
  FM_TRY(fm_device_kernel(dev, "mlp", "fm_tangent_input", &m->k_tangent_input));
  FM_TRY(fm_device_kernel(dev, "mlp", "fm_tangent_times", &m->k_tangent_times));
  *out = m;
  return FM_OK;
fail:
  fm_mlp_destroy(m);
  return st;
}

void fm_mlp_destroy(fm_mlp *m) {
  if (!m) return;
  for (int l = 0; l < MAX_LAYERS; l++) {
    fm_device_release(m->dev, m->d[l]);
    fm_device_release(m->dev, m->h[l]);
  }
  fm_device_release(m->dev, m->grad_a);
  fm_device_release(m->dev, m->grad_b);
  fm_device_release(m->dev, m->grad_t);
  fm_device_release(m->dev, m->tangent_a);
  fm_device_release(m->dev, m->tangent_b);
  fm_device_release(m->dev, m->input);
  fm_device_release(m->dev, m->grads);
  fm_device_release(m->dev, m->params_t);
  fm_device_release(m->dev, m->params);
  free(m);
}

fm_status fm_mlp_init(fm_mlp *m, uint64_t seed) {
  float *host = calloc(m->flat_size, sizeof *host);
  if (!host) return fm_fail(FM_ERR_NOMEM, "out of host memory initialising the model");
  for (int l = 0; l < m->n_layers; l++) {
    double bound = 1.0 / sqrt((double)m->in[l]);
    fm_rng rng;
    fm_rng_init(&rng, seed, FM_STREAM_INIT, (uint32_t)l);
    size_t nw = (size_t)m->in[l] * (size_t)m->out[l];
    for (size_t i = 0; i < nw; i++)
      host[m->w_off[l] + i] = (float)((2.0 * fm_rng_uniform(&rng) - 1.0) * bound);
    for (int i = 0; i < m->out[l]; i++)
      host[m->b_off[l] + (size_t)i] = (float)((2.0 * fm_rng_uniform(&rng) - 1.0) * bound);
  }
  fm_status st = fm_mlp_write_params(m, host);
  free(host);
  return st;
}

/* A 2-D work-group for a (width, n) range: as wide as the matrix, up to 64 items. */
static void local_2d(const fm_mlp *m, int width, size_t local[2]) {
  size_t lx = 1;
  while (lx < (size_t)width && lx < 64) lx *= 2;
  size_t total = fm_device_local_1d(m->dev);
  if (total < lx) lx = total;
  local[0] = lx;
  local[1] = total / lx;
}

static fm_status launch_rows(fm_mlp *m, cl_kernel k, int width, int n) {
  size_t global[2] = {(size_t)width, (size_t)n}, local[2];
  local_2d(m, width, local);
  return fm_device_launch(m->dev, k, 2, global, local);
}

/* With z = d_l + b_l (d_l holding the product): h_l = act(z), d_l = act'(z). */
static fm_status bias_act(fm_mlp *m, int l, int n) {
  fm_status st = FM_OK;
  cl_kernel k = m->k_bias_act;
  cl_uint un = (cl_uint)n, width = (cl_uint)m->out[l], at = (cl_uint)m->b_off[l];
  FM_CL(FM_ARG(k, 0, m->d[l]));
  FM_CL(FM_ARG(k, 1, m->h[l]));
  FM_CL(FM_ARG(k, 2, m->params));
  FM_CL(FM_ARG(k, 3, at));
  FM_CL(FM_ARG(k, 4, un));
  FM_CL(FM_ARG(k, 5, width));
  FM_TRY(launch_rows(m, k, (int)width, n));
fail:
  return st;
}

/* dst (cols, rows) = src (rows, cols) transposed, both at offset at. */
static fm_status transpose(fm_mlp *m, cl_mem src, cl_mem dst, size_t at, int rows, int cols) {
  fm_status st = FM_OK;
  cl_kernel k = m->k_transpose;
  cl_uint uat = (cl_uint)at, ur = (cl_uint)rows, uc = (cl_uint)cols;
  FM_CL(FM_ARG(k, 0, src));
  FM_CL(FM_ARG(k, 1, dst));
  FM_CL(FM_ARG(k, 2, uat));
  FM_CL(FM_ARG(k, 3, ur));
  FM_CL(FM_ARG(k, 4, uc));
  FM_TRY(launch_rows(m, k, cols, (rows + 15) / 16));
fail:
  return st;
}

/* params_t = each W_l transposed, when the parameters changed since the last time. */
static fm_status refresh_transposed(fm_mlp *m) {
  fm_status st = FM_OK;
  if (!m->params_t_stale) return FM_OK;
  for (int l = 0; l < m->n_layers; l++)
    FM_TRY(transpose(m, m->params, m->params_t, m->w_off[l], m->out[l], m->in[l]));
  m->params_t_stale = 0;
fail:
  return st;
}

void fm_mlp_params_changed(fm_mlp *m) { m->params_t_stale = 1; }

void fm_mlp_set_gemm(fm_mlp *m, fm_gemm_provider provider) { m->gemm = provider; }

void fm_mlp_set_tuning(fm_mlp *m, const fm_gemm_tuning *tuning) { m->tuning = tuning; }

/* Who computes one product: a set provider, else the tuning's choice for the shape. */
static fm_gemm_provider provider_for(const fm_mlp *m, int trans_a, size_t rows, size_t n,
                                     size_t k) {
  if (m->gemm != FM_GEMM_AUTO || !m->tuning) return fm_gemm_resolve(m->dev, m->gemm);
  return fm_gemm_tuned_provider(m->tuning, m->dev, trans_a, rows, n, k);
}

static fm_status check_batch(const fm_mlp *m, int n) {
  if (n < 1 || n > m->capacity)
    return fm_fail(FM_ERR_INVALID, "mlp: batch of %d rows, capacity is %d", n, m->capacity);
  return FM_OK;
}


/* The forward pass; keep: also the activations' derivatives for a backward pass or
 * tangents (with fmcl's kernels; CLBlast's path writes them anyway). */
static fm_status forward(fm_mlp *m, cl_mem x, cl_mem t, cl_mem labels, int n, cl_mem out,
                         int keep) {
  fm_status st = FM_OK;
  FM_TRY(check_batch(m, n));
  FM_TRY(refresh_transposed(m));
  cl_uint un = (cl_uint)n, dim = (cl_uint)m->shape.dim, nf = (cl_uint)m->shape.time_features;
  cl_uint nc = (cl_uint)m->shape.classes;
  cl_int has_labels = labels != NULL;
  cl_mem label_arg = labels ? labels : t; /* any valid buffer when unused */
  cl_kernel k = m->k_input;
  FM_CL(FM_ARG(k, 0, x));
  FM_CL(FM_ARG(k, 1, t));
  FM_CL(FM_ARG(k, 2, label_arg));
  FM_CL(FM_ARG(k, 3, has_labels));
  FM_CL(FM_ARG(k, 4, m->input));
  FM_CL(FM_ARG(k, 5, un));
  FM_CL(FM_ARG(k, 6, dim));
  FM_CL(FM_ARG(k, 7, nf));
  FM_CL(FM_ARG(k, 8, nc));
  size_t rows = (size_t)n;
  FM_TRY(fm_device_launch(m->dev, k, 1, &rows, NULL));

  const char *act = fm_activation_name(m->shape.activation);
  for (int l = 0; l < m->n_layers; l++) {
    size_t in = (size_t)m->in[l], outw = (size_t)m->out[l];
    int last = l == m->n_layers - 1;
    fm_matrix a = {l == 0 ? m->input : m->h[l - 1], 0, in};
    fm_matrix wt = {m->params_t, m->w_off[l], outw}; /* W^T (in, out) */
    cl_mem d = last ? NULL : m->d[l], h = last ? out : m->h[l];
    /* fmcl's kernels fuse the bias and activation; CLBlast needs kernels after it. */
    fm_gemm_provider prov = provider_for(m, 0, rows, outw, in);
    int fused = prov == FM_GEMM_FMCL;
    if (fused && last && outw <= FM_GEMM_THIN) {
      fm_matrix w = {m->params, m->w_off[l], in};
      FM_TRY(fm_gemm_nt_bias(m->dev, rows, outw, in, a, w, m->params, m->b_off[l], out, outw));
      continue;
    }
    if (fused) {
      FM_TRY(fm_gemm_bias_act(m->dev, rows, outw, in, a, wt, m->params, m->b_off[l],
                              last ? "none" : act, keep ? d : NULL, h, outw));
      continue;
    }
    fm_matrix c = {last ? out : d, 0, outw};
    FM_TRY(fm_gemm(m->dev, prov, 0, 0, rows, outw, in, 1.0f, a, wt, 0.0f, c));
    if (!last) {
      FM_TRY(bias_act(m, l, n));
    } else {
      cl_uint width = (cl_uint)outw, at = (cl_uint)m->b_off[l];
      k = m->k_bias_add;
      FM_CL(FM_ARG(k, 0, out));
      FM_CL(FM_ARG(k, 1, m->params));
      FM_CL(FM_ARG(k, 2, at));
      FM_CL(FM_ARG(k, 3, un));
      FM_CL(FM_ARG(k, 4, width));
      FM_TRY(launch_rows(m, k, (int)width, n));
    }
  }
fail:
  return st;
}

fm_status fm_mlp_forward(fm_mlp *m, cl_mem x, cl_mem t, cl_mem labels, int n, cl_mem out) {
  return forward(m, x, t, labels, n, out, 1);
}

fm_status fm_mlp_evaluate(fm_mlp *m, cl_mem x, cl_mem t, cl_mem labels, int n, cl_mem out) {
  return forward(m, x, t, labels, n, out, 0);
}

static fm_status bias_grad(fm_mlp *m, int l, cl_mem g, int n) {
  fm_status st = FM_OK;
  cl_kernel k = m->k_column_sums;
  cl_uint un = (cl_uint)n, width = (cl_uint)m->out[l], at = (cl_uint)m->b_off[l];
  FM_CL(FM_ARG(k, 0, g));
  FM_CL(FM_ARG(k, 1, m->grads));
  FM_CL(FM_ARG(k, 2, at));
  FM_CL(FM_ARG(k, 3, un));
  FM_CL(FM_ARG(k, 4, width));
  size_t cols = width;
  FM_TRY(fm_device_launch(m->dev, k, 1, &cols, NULL));
fail:
  return st;
}

/* g (n, width) *= act'(z_l). */
static fm_status act_backward(fm_mlp *m, int l, cl_mem g, int n) {
  fm_status st = FM_OK;
  cl_kernel k = m->k_times_derivative;
  cl_uint un = (cl_uint)n, width = (cl_uint)m->out[l];
  FM_CL(FM_ARG(k, 0, g));
  FM_CL(FM_ARG(k, 1, m->d[l]));
  FM_CL(FM_ARG(k, 2, un));
  FM_CL(FM_ARG(k, 3, width));
  FM_TRY(launch_rows(m, k, (int)width, n));
fail:
  return st;
}

fm_status fm_mlp_backward(fm_mlp *m, cl_mem dout, int n) {
  fm_status st = FM_OK;
  FM_TRY(check_batch(m, n));
  size_t rows = (size_t)n;
  cl_mem g = dout; /* gradient at the pre-activation of layer l (the output has none) */
  for (int l = m->n_layers - 1; l >= 0; l--) {
    size_t in = (size_t)m->in[l], outw = (size_t)m->out[l];
    fm_matrix gz = {g, 0, outw};
    fm_matrix a = {l == 0 ? m->input : m->h[l - 1], 0, in};
    fm_matrix dw = {m->grads, m->w_off[l], in};
    /* dW_l (out, in) = g^T (out, n) x a (n, in); db_l = column sums of g */
    fm_gemm_provider prov = provider_for(m, 1, outw, in, rows);
    if (prov == FM_GEMM_FMCL && fm_gemm_tn_tiled(outw, in) && in >= TRANSPOSED_GRADIENT_FROM &&
        outw >= TRANSPOSED_GRADIENT_FROM) {
      FM_TRY(transpose(m, g, m->grad_t, 0, n, (int)outw));
      fm_matrix gt = {m->grad_t, 0, rows};
      FM_TRY(fm_gemm_nn_rowsum(m->dev, outw, in, rows, gt, a, dw, m->grads, m->b_off[l]));
    } else if (prov == FM_GEMM_FMCL) {
      FM_TRY(fm_gemm_tn_colsum(m->dev, outw, in, rows, gz, a, dw, m->grads, m->b_off[l]));
    } else {
      FM_TRY(fm_gemm(m->dev, prov, 1, 0, outw, in, rows, 1.0f, gz, a, 0.0f, dw));
      FM_TRY(bias_grad(m, l, g, n));
    }
    if (l == 0) break;
    /* The gradient at layer l - 1's pre-activation: (g W_l) * act'(z_{l-1}). */
    cl_mem next = g == m->grad_a ? m->grad_b : m->grad_a;
    fm_matrix w = {m->params, m->w_off[l], in};
    prov = provider_for(m, 0, rows, in, outw);
    if (prov == FM_GEMM_FMCL) {
      FM_TRY(fm_gemm_times(m->dev, rows, in, outw, gz, w, m->d[l - 1], next, in));
    } else {
      fm_matrix gn = {next, 0, in};
      FM_TRY(fm_gemm(m->dev, prov, 0, 0, rows, in, outw, 1.0f, gz, w, 0.0f, gn));
      FM_TRY(act_backward(m, l - 1, next, n));
    }
    g = next;
  }
fail:
  return st;
}

fm_status fm_mlp_jvp(fm_mlp *m, cl_mem x, cl_mem t, cl_mem labels, int n, cl_mem out,
                     cl_mem tangents, int k, cl_mem out_tangents) {
  fm_status st = FM_OK;
  size_t rows = (size_t)n * (size_t)k;
  FM_TRY(fm_mlp_forward(m, x, t, labels, n, out));
  if (rows > (size_t)m->tangent_rows) {
    fm_device_release(m->dev, m->tangent_a);
    fm_device_release(m->dev, m->tangent_b);
    m->tangent_a = m->tangent_b = NULL;
    m->tangent_rows = 0;
    size_t bytes = rows * (size_t)m->max_width * sizeof(float);
    FM_TRY(fm_device_alloc(m->dev, bytes, "tangents", &m->tangent_a));
    FM_TRY(fm_device_alloc(m->dev, bytes, "tangents", &m->tangent_b));
    m->tangent_rows = (int)rows;
  }
  cl_kernel kern = m->k_tangent_input;
  cl_uint urows = (cl_uint)rows, dim = (cl_uint)m->shape.dim, width = (cl_uint)m->in[0];
  FM_CL(FM_ARG(kern, 0, tangents));
  FM_CL(FM_ARG(kern, 1, m->tangent_a));
  FM_CL(FM_ARG(kern, 2, urows));
  FM_CL(FM_ARG(kern, 3, dim));
  FM_CL(FM_ARG(kern, 4, width));
  FM_TRY(fm_device_launch(m->dev, kern, 1, &rows, NULL));
  /* Each layer is linear in the tangent: T W^T, then times act'(z) of the point's row. */
  cl_mem cur = m->tangent_a;
  for (int l = 0; l < m->n_layers; l++) {
    int last = l == m->n_layers - 1;
    size_t in = (size_t)m->in[l], outw = (size_t)m->out[l];
    cl_mem next = last ? out_tangents : (cur == m->tangent_a ? m->tangent_b : m->tangent_a);
    fm_matrix a = {cur, 0, in}, wt = {m->params_t, m->w_off[l], outw}, c = {next, 0, outw};
    FM_TRY(fm_gemm(m->dev, provider_for(m, 0, rows, outw, in), 0, 0, rows, outw, in, 1.0f, a, wt,
                   0.0f, c));
    if (!last) {
      kern = m->k_tangent_times;
      cl_uint un = (cl_uint)n, uk = (cl_uint)k, w = (cl_uint)outw;
      FM_CL(FM_ARG(kern, 0, next));
      FM_CL(FM_ARG(kern, 1, m->d[l]));
      FM_CL(FM_ARG(kern, 2, un));
      FM_CL(FM_ARG(kern, 3, uk));
      FM_CL(FM_ARG(kern, 4, w));
      FM_TRY(launch_rows(m, kern, (int)outw, n));
    }
    cur = next;
  }
fail:
  return st;
}

int fm_mlp_layers(const fm_mlp *m) { return m->n_layers; }
int fm_mlp_layer_in(const fm_mlp *m, int l) { return m->in[l]; }
int fm_mlp_layer_out(const fm_mlp *m, int l) { return m->out[l]; }
size_t fm_mlp_weight_offset(const fm_mlp *m, int l) { return m->w_off[l]; }
size_t fm_mlp_bias_offset(const fm_mlp *m, int l) { return m->b_off[l]; }
const fm_mlp_shape *fm_mlp_get_shape(const fm_mlp *m) { return &m->shape; }
size_t fm_mlp_param_count(const fm_mlp *m) { return m->n_params; }
size_t fm_mlp_flat_size(const fm_mlp *m) { return m->flat_size; }
int fm_mlp_capacity(const fm_mlp *m) { return m->capacity; }
fm_device *fm_mlp_device(const fm_mlp *m) { return m->dev; }
cl_mem fm_mlp_params(const fm_mlp *m) { return m->params; }
cl_mem fm_mlp_grads(const fm_mlp *m) { return m->grads; }

double fm_mlp_macs_per_row(const fm_mlp *m) {
  double macs = 0;
  for (int l = 0; l < m->n_layers; l++) macs += (double)m->in[l] * m->out[l];
  return macs;
}

fm_status fm_mlp_read_params(fm_mlp *m, float *host) {
  return fm_device_read(m->dev, m->params, 0, m->flat_size * sizeof(float), host);
}

fm_status fm_mlp_write_params(fm_mlp *m, const float *host) {
  m->params_t_stale = 1;
  return fm_device_write(m->dev, m->params, 0, m->flat_size * sizeof(float), host);
}
