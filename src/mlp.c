/* The MLP's forward and backward passes: matrix products through fm_gemm, each chosen per
 * operation and shape (device.gemm, or the tuning), and a layer's other kernels
 * (src/layer.c). fmcl's CPU kernels fuse every epilogue into the product and read the
 * weights transposed; the GPU path (CLBlast or fmcl's GPU kernels) reads W as stored, runs
 * the thin input and output layers with kernels of their own, and reduces the bias
 * gradients in two passes, the first inside the kernel that makes the layer's gradient.
 * The last forward pass leaves each hidden layer's activations and their derivatives
 * act'(z) on the device for the backward pass. */
#include "fmcl/mlp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmcl/flat.h"
#include "fmcl/gemm.h"
#include "fmcl/rng.h"
#include "internal.h"
#include "layer.h"

#define MAX_LAYERS (FM_MAX_HIDDEN + 1)

/* Widths (inputs and outputs) from which a layer's weight gradient is the NN product of
 * its transposed output gradient, not the tiled A^T B: on PoCL a 512 x 512 x 512 weight
 * gradient takes 0.2 ms less that way for a 75 us transpose; with 256 inputs, or 64
 * outputs, the transpose costs as much as it saves or more. */
#define TRANSPOSED_GRADIENT_FROM 512

struct fm_mlp {
  fm_device *dev;
  fm_mlp_shape shape;
  int n_layers;
  int in[MAX_LAYERS], out[MAX_LAYERS];
  size_t w_off[MAX_LAYERS], b_off[MAX_LAYERS];
  size_t flat_size, n_params;
  int capacity, max_width;
  cl_mem params, grads; /* (flat_size) */
  /* For fmcl's CPU kernels, which read B row by row: each W_l transposed to (in, out) in
   * params_t, and W_l as stored but with wider rows in params_p when its width needs it
   * (padded_ld); layer l's at t_off / p_off, rows t_ld / p_ld apart. */
  cl_mem params_t, params_p;
  size_t t_off[MAX_LAYERS], p_off[MAX_LAYERS];
  int t_ld[MAX_LAYERS], p_ld[MAX_LAYERS];
  int derived_stale[MAX_LAYERS]; /* params changed since layer l's copies were made */
  fm_gemm_provider gemm;
  const fm_gemm_tuning *tuning; /* per-shape providers when gemm is auto, or NULL */
  fm_gpu_tile gpu_tile; /* fmcl's GPU products' tile where the tuning names none, fitted */
  cl_mem input;         /* (capacity, in[0]) */
  cl_mem d[MAX_LAYERS]; /* act'(z) of hidden layer l at its pre-activation z: (capacity, out[l]) */
  cl_mem h[MAX_LAYERS]; /* activations of hidden layer l: (capacity, out[l]) */
  cl_mem norm[MAX_LAYERS]; /* residual: odd layer l's input, norm(s) (capacity, in[l]) */
  cl_mem rstd[MAX_LAYERS]; /* and the 1 / sqrt(var + eps) of its rows (capacity) */
  cl_mem grad_s;           /* residual: the gradient at the stream (capacity, stream width) */
  cl_mem grad_a, grad_b; /* backward scratch, ping-pong: (capacity, max_width) */
  cl_mem grad_t;         /* (max_width, capacity): a layer's output gradient transposed */
  size_t col_at[MAX_LAYERS]; /* layer l's first column among the bias-gradient partials */
  size_t pending[MAX_LAYERS]; /* row groups of layer l's partials awaiting the second pass */
  fm_partials partials;      /* (groups, ldp = all layers' widths) first-pass sums */
  size_t partial_groups;     /* row groups partials.mem holds */
  cl_mem bias_dest;          /* (ldp) ints: the gradient index of each partial column */
  int tangent_rows;          /* rows the tangent buffers hold (0 until the first JVP) */
  cl_mem tangent_a, tangent_b; /* (tangent_rows, max_width), ping-pong */
  cl_mem tangent_s;            /* residual: the stream's tangents (tangent_rows, max_width) */
  fm_grads_ready grads_ready;  /* told of each finished range of the gradient, or NULL */
  void *grads_ready_ctx;
};



/* bias_dest[col_at[l] + c] = b_off[l] + c: where the second pass puts each bias gradient. */
static fm_status make_bias_dest(fm_mlp *m) {
  fm_status st = FM_OK;
  int *dest = malloc(m->partials.ldp * sizeof *dest);
  if (!dest) return fm_fail(FM_ERR_NOMEM, "out of host memory creating the model");
  for (int l = 0; l < m->n_layers; l++)
    for (int c = 0; c < m->out[l]; c++) dest[m->col_at[l] + (size_t)c] = (int)(m->b_off[l] + (size_t)c);
  FM_TRY(fm_device_alloc(m->dev, m->partials.ldp * sizeof(int), "bias gradient map", &m->bias_dest));
  FM_TRY(fm_device_write(m->dev, m->bias_dest, 0, m->partials.ldp * sizeof(int), dest));
fail:
  free(dest);
  return st;
}

/* The row stride fmcl's CPU kernels get for a matrix of this width. A tile reads B down a
 * column strip, one row a step; with rows a multiple of 1 KiB apart those reads fall into a
 * few cache sets, and the strip is evicted before the next tile reads it (128 x 1024 x 1024
 * ran at half the speed of 128 x 1008 x 1008 on PoCL). 16 floats more spread them. */
static int padded_ld(int width) { return width % 256 == 0 ? width + 16 : width; }

/* A residual model's hidden widths: [w, f1, w, f2, w, ...]. */
static fm_status check_residual(const fm_mlp_shape *s) {
  if (!s->residual) return FM_OK;
  int ok = s->n_hidden >= 3 && s->n_hidden % 2 == 1;
  for (int l = 2; ok && l < s->n_hidden; l += 2) ok = s->hidden[l] == s->hidden[0];
  if (!ok)
    return fm_fail(FM_ERR_INVALID, "mlp: a residual model's hidden widths are [w, f1, w, f2, "
                   "w, ...], an odd count of at least 3, every other one the stream's w");
  return FM_OK;
}

/* Whether layer l ends in the activation (and keeps its derivative): every hidden layer of
 * an MLP; in a residual model the stream's first layer and the blocks' inner layers. */
static int has_activation(const fm_mlp *m, int l) {
  if (l == m->n_layers - 1) return 0;
  return !m->shape.residual || l == 0 || l % 2 == 1;
}

fm_status fm_mlp_create(fm_device *dev, const fm_mlp_shape *shape, int capacity, fm_mlp **out) {
  fm_status st = FM_OK;
  *out = NULL;
  if (shape->dim < 1 || shape->n_hidden < 1 || shape->n_hidden > FM_MAX_HIDDEN || capacity < 1)
    return fm_fail(FM_ERR_INVALID, "mlp: bad shape (dim %d, %d hidden layers, capacity %d)",
                   shape->dim, shape->n_hidden, capacity);
  if ((st = check_residual(shape)) != FM_OK) return st;
  fm_mlp *m = calloc(1, sizeof *m);
  if (!m) return fm_fail(FM_ERR_NOMEM, "out of host memory creating the model");
  m->dev = dev;
  m->gpu_tile = fm_gpu_tile_default();
  m->shape = *shape;
  m->capacity = capacity;
  m->n_layers = shape->n_hidden + 1;
  for (int l = 0; l < m->n_layers; l++) {
    m->in[l] = l == 0 ? shape->dim + 1 + 2 * shape->time_features + shape->classes
                      : shape->hidden[l - 1];
    m->out[l] = l < shape->n_hidden ? shape->hidden[l] : shape->dim;
    m->n_params += (size_t)m->in[l] * (size_t)m->out[l] + (size_t)m->out[l];
    if (m->out[l] > m->max_width) m->max_width = m->out[l];
    if (m->in[l] > m->max_width) m->max_width = m->in[l];
  }
  m->flat_size = fm_flat_layout(m->n_layers, m->in, m->out, m->w_off, m->b_off);
  for (int l = 0; l < m->n_layers; l++) {
    m->col_at[l] = m->partials.ldp;
    m->partials.ldp += (size_t)m->out[l];
  }
  size_t cap = (size_t)capacity;
  FM_TRY(fm_device_alloc(dev, m->flat_size * sizeof(float), "model parameters", &m->params));
  FM_TRY(fm_device_alloc(dev, m->flat_size * sizeof(float), "model gradients", &m->grads));
  size_t t_size = 0, p_size = 0;
  for (int l = 0; l < m->n_layers; l++) {
    m->t_off[l] = t_size;
    m->t_ld[l] = padded_ld(m->out[l]);
    t_size += ((size_t)m->in[l] * (size_t)m->t_ld[l] + 31) & ~(size_t)31;
    m->p_off[l] = p_size;
    m->p_ld[l] = padded_ld(m->in[l]);
    if (m->p_ld[l] != m->in[l])
      p_size += ((size_t)m->out[l] * (size_t)m->p_ld[l] + 31) & ~(size_t)31;
  }
  FM_TRY(fm_device_alloc(dev, t_size * sizeof(float), "transposed weights", &m->params_t));
  if (p_size)
    FM_TRY(fm_device_alloc(dev, p_size * sizeof(float), "padded weights", &m->params_p));
  fm_mlp_params_changed(m);
  FM_TRY(make_bias_dest(m));
  FM_TRY(fm_device_fill(dev, m->params, 0, m->flat_size, 0.0f));
  FM_TRY(fm_device_fill(dev, m->grads, 0, m->flat_size, 0.0f));
  FM_TRY(fm_device_alloc(dev, cap * (size_t)m->in[0] * sizeof(float), "model input", &m->input));
  for (int l = 0; l < shape->n_hidden; l++) {
    size_t bytes = cap * (size_t)m->out[l] * sizeof(float);
    if (has_activation(m, l))
      FM_TRY(fm_device_alloc(dev, bytes, "activation derivatives", &m->d[l]));
    FM_TRY(fm_device_alloc(dev, bytes, "hidden activations", &m->h[l]));
  }
  for (int l = 1; shape->residual && l < m->n_layers; l += 2) {
    FM_TRY(fm_device_alloc(dev, cap * (size_t)m->in[l] * sizeof(float), "normalised stream",
                           &m->norm[l]));
    FM_TRY(fm_device_alloc(dev, cap * sizeof(float), "normalisation scales", &m->rstd[l]));
  }
  if (shape->residual)
    FM_TRY(fm_device_alloc(dev, cap * (size_t)m->out[0] * sizeof(float), "stream gradient",
                           &m->grad_s));
  size_t scratch = cap * (size_t)m->max_width * sizeof(float);
  FM_TRY(fm_device_alloc(dev, scratch, "backward scratch", &m->grad_a));
  FM_TRY(fm_device_alloc(dev, scratch, "backward scratch", &m->grad_b));
  FM_TRY(fm_device_alloc(dev, scratch, "backward scratch", &m->grad_t));

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
    fm_device_release(m->dev, m->norm[l]);
    fm_device_release(m->dev, m->rstd[l]);
  }
  fm_device_release(m->dev, m->grad_s);
  fm_device_release(m->dev, m->tangent_s);
  fm_device_release(m->dev, m->grad_a);
  fm_device_release(m->dev, m->grad_b);
  fm_device_release(m->dev, m->grad_t);
  fm_device_release(m->dev, m->tangent_a);
  fm_device_release(m->dev, m->tangent_b);
  fm_device_release(m->dev, m->input);
  fm_device_release(m->dev, m->grads);
  fm_device_release(m->dev, m->params_t);
  fm_device_release(m->dev, m->params_p);
  fm_device_release(m->dev, m->params);
  fm_device_release(m->dev, m->partials.mem);
  fm_device_release(m->dev, m->bias_dest);
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

void fm_mlp_params_changed(fm_mlp *m) {
  for (int l = 0; l < MAX_LAYERS; l++) m->derived_stale[l] = 1;
}

fm_status fm_mlp_set_gemm(fm_mlp *m, fm_gemm_provider provider) {
  m->gemm = provider;
  m->gpu_tile = fm_gpu_tile_default();
  if (fm_gemm_resolve(m->dev, provider) != FM_GEMM_FMCL_GPU) return FM_OK;
  return fm_gpu_tile_fit(m->dev, &m->gpu_tile);
}

void fm_mlp_set_tuning(fm_mlp *m, const fm_gemm_tuning *tuning) { m->tuning = tuning; }

/* Who computes one product: device.gemm, or with auto the tuning's choice for it. */
static fm_gemm_impl impl_for(const fm_mlp *m, fm_gemm_op op, size_t rows, size_t n, size_t k) {
  fm_gemm_impl impl = fm_gemm_choose(m->tuning, m->dev, m->gemm, &m->gpu_tile, op, rows, n, k);
  impl.provider = fm_gemm_resolve(m->dev, impl.provider);
  return impl;
}

/* The thin layers follow the provider device.gemm stands for (never the tuning): fmcl's
 * CPU kernels have thin variants of their own; every other provider takes cl/mlp_thin.cl. */
static int gpu_path(const fm_mlp *m) { return fm_gemm_resolve(m->dev, m->gemm) != FM_GEMM_FMCL; }
static int thin_input(const fm_mlp *m, int l) {
  return l == 0 && gpu_path(m) && m->in[0] <= FM_THIN_IN;
}
/* (A residual model's output layer reads the normalised stream and passes its gradient
 * back through the normalisation: the thin output kernels' fused act' does not apply.) */
static int thin_output(const fm_mlp *m, int l) {
  return l == m->n_layers - 1 && gpu_path(m) && m->out[l] <= FM_GEMM_THIN && !m->shape.residual;
}

/* Layer l's input: the features, the normalised stream (a residual model's odd layers), or
 * the previous layer's output. */
static cl_mem layer_input(const fm_mlp *m, int l) {
  if (l == 0) return m->input;
  return m->shape.residual && l % 2 == 1 ? m->norm[l] : m->h[l - 1];
}

/* Layer l's copies for fmcl's CPU kernels, made again when the parameters changed since. */
static fm_status derived_weights(fm_mlp *m, int l) {
  fm_status st = FM_OK;
  if (!m->derived_stale[l]) return FM_OK;
  FM_TRY(fm_layer_transpose(m->dev, m->params, m->w_off[l], m->params_t, m->t_off[l], m->out[l],
                            m->in[l], m->t_ld[l]));
  if (m->p_ld[l] != m->in[l])
    FM_TRY(fm_layer_copy_strided(m->dev, m->params, m->w_off[l], m->params_p, m->p_off[l],
                                 m->out[l], m->in[l], m->p_ld[l]));
  m->derived_stale[l] = 0;
fail:
  return st;
}

/* Layer l's W^T (in, out) for fmcl's CPU kernels. */
static fm_status transposed_weights(fm_mlp *m, int l, fm_matrix *wt) {
  fm_status st = derived_weights(m, l);
  fm_matrix t = {m->params_t, m->t_off[l], (size_t)m->t_ld[l]};
  *wt = t;
  return st;
}

/* Layer l's W (out, in) as B of fmcl's CPU kernels: the padded copy when there is one. */
static fm_status stored_weights(fm_mlp *m, int l, fm_matrix *w) {
  fm_status st = derived_weights(m, l);
  fm_matrix as_stored = {m->params, m->w_off[l], (size_t)m->in[l]};
  fm_matrix padded = {m->params_p, m->p_off[l], (size_t)m->p_ld[l]};
  *w = m->p_ld[l] != m->in[l] ? padded : as_stored;
  return st;
}

static fm_status check_batch(const fm_mlp *m, int n) {
  if (n < 1 || n > m->capacity)
    return fm_fail(FM_ERR_INVALID, "mlp: batch of %d rows, capacity is %d", n, m->capacity);
  return FM_OK;
}


/* Layer l's forward product with its epilogue into h (and d when not NULL), act "none"
 * for a layer without activation. */
static fm_status layer_forward(fm_mlp *m, int l, size_t rows, cl_mem a_mem, const char *act,
                               cl_mem d, cl_mem h) {
  fm_status st = FM_OK;
  size_t in = (size_t)m->in[l], outw = (size_t)m->out[l];
  int last = l == m->n_layers - 1, linear = !has_activation(m, l);
  fm_matrix a = {a_mem, 0, in};
  fm_matrix w = {m->params, m->w_off[l], in}; /* W (out, in) as stored */
  fm_gemm_impl impl = impl_for(m, FM_OP_FORWARD, rows, outw, in);
  if (impl.provider == FM_GEMM_FMCL && last && outw <= FM_GEMM_THIN)
    return fm_gemm_nt_bias(m->dev, rows, outw, in, a, w, m->params, m->b_off[l], h, outw);
  if (impl.provider == FM_GEMM_FMCL) {
    fm_matrix wt;
    FM_TRY(transposed_weights(m, l, &wt));
    return fm_gemm_bias_act(m->dev, rows, outw, in, a, wt, m->params, m->b_off[l], act, d, h,
                            outw);
  }
  if (impl.provider == FM_GEMM_FMCL_GPU)
    return fm_gpu_gemm_bias_act(m->dev, &impl.tile, rows, outw, in, a, w, m->params,
                                m->b_off[l], act, d, h, outw);
  /* CLBlast, then the epilogue kernel (it keeps the derivative in place of the product). */
  fm_matrix c = {linear ? h : m->d[l], 0, outw};
  FM_TRY(fm_gemm_by(m->dev, &impl, 0, 1, rows, outw, in, 1.0f, a, w, 0.0f, c));
  if (linear) FM_TRY(fm_layer_bias_add(m->dev, h, m->params, m->b_off[l], (int)rows, (int)outw));
  else FM_TRY(fm_layer_bias_act(m->dev, act, m->d[l], h, m->params, m->b_off[l], (int)rows,
                                (int)outw));
fail:
  return st;
}

/* After a residual model's even layer l: its output in h[l] plus the stream before it is
 * the stream, which the next layer reads normalised. */
static fm_status stream_made(fm_mlp *m, int l, int n) {
  if (!m->shape.residual || l % 2 == 1 || l == m->n_layers - 1) return FM_OK;
  return fm_layer_norm(m->dev, m->h[l], l ? m->h[l - 2] : NULL, m->norm[l + 1], m->rstd[l + 1],
                       n, m->out[l]);
}

/* The forward pass; keep: also the activations' derivatives for a backward pass or
 * tangents (CLBlast's path writes them anyway). */
static fm_status forward(fm_mlp *m, cl_mem x, cl_mem t, cl_mem labels, int n, cl_mem out,
                         int keep) {
  fm_status st = FM_OK;
  FM_TRY(check_batch(m, n));
  size_t rows = (size_t)n;
  const fm_mlp_shape *sh = &m->shape;
  const char *act = fm_activation_name(sh->activation);
  int first = 0;
  if (thin_input(m, 0)) {
    FM_TRY(fm_layer_thin_input(m->dev, act, x, t, labels, n, sh->dim, sh->time_features,
                               sh->classes, m->input, m->params, m->w_off[0], m->b_off[0],
                               m->out[0], keep ? m->d[0] : NULL, m->h[0]));
    first = 1;
  } else {
    FM_TRY(fm_layer_input(m->dev, x, t, labels, n, sh->dim, sh->time_features, sh->classes,
                          m->input));
  }
  if (first) FM_TRY(stream_made(m, 0, n));
  for (int l = first; l < m->n_layers; l++) {
    int last = l == m->n_layers - 1, linear = !has_activation(m, l);
    if (thin_output(m, l)) {
      FM_TRY(fm_layer_thin_output(m->dev, m->h[l - 1], n, m->in[l], m->params, m->w_off[l],
                                  m->b_off[l], m->out[l], out));
      continue;
    }
    FM_TRY(layer_forward(m, l, rows, layer_input(m, l), linear ? "none" : act,
                         linear || !keep ? NULL : m->d[l], last ? out : m->h[l]));
    FM_TRY(stream_made(m, l, n));
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

/* Whether layer l's bias gradient comes from first-pass partials (its weight gradient is a
 * plain product), not from the kernel that computes its weight gradient. */
static int bias_from_partials(const fm_mlp *m, int l, size_t rows) {
  if (thin_input(m, l) || thin_output(m, l)) return 0;
  return impl_for(m, FM_OP_WEIGHT_GRAD, (size_t)m->out[l], (size_t)m->in[l], rows).provider !=
         FM_GEMM_FMCL;
}

/* Room in the partials for a backward pass of n rows: the most row groups any first pass
 * of it writes. */
static fm_status reserve_partials(fm_mlp *m, size_t rows) {
  size_t groups = 0;
  fm_status st = fm_layer_groups(m->dev, rows, &groups);
  if (st != FM_OK) return st;
  for (int l = 1; l < m->n_layers; l++) {
    fm_gemm_impl impl = impl_for(m, FM_OP_BACKWARD, rows, (size_t)m->in[l], (size_t)m->out[l]);
    size_t tiles = fm_gpu_row_tiles(&impl.tile, rows);
    if (impl.provider == FM_GEMM_FMCL_GPU && tiles > groups) groups = tiles;
  }
  if (groups <= m->partial_groups) return FM_OK;
  fm_device_release(m->dev, m->partials.mem);
  m->partials.mem = NULL;
  m->partial_groups = 0;
  st = fm_device_alloc(m->dev, groups * m->partials.ldp * sizeof(float), "bias gradient sums",
                       &m->partials.mem);
  if (st == FM_OK) m->partial_groups = groups;
  return st;
}

/* The second pass of the bias gradients: one launch per run of neighbouring layers whose
 * partials have the same number of row groups. */
static fm_status finish_bias_grads(fm_mlp *m) {
  fm_status st = FM_OK;
  for (int l = 0; l < m->n_layers;) {
    if (!m->pending[l]) {
      l++;
      continue;
    }
    int end = l + 1;
    while (end < m->n_layers && m->pending[end] == m->pending[l]) end++;
    size_t first = m->col_at[l], count = m->col_at[end - 1] + (size_t)m->out[end - 1] - first;
    FM_TRY(fm_layer_column_finish(m->dev, &m->partials, m->pending[l], first, count,
                                  m->bias_dest, m->grads));
    for (int b = l; b < end && m->grads_ready; b++)
      FM_TRY(m->grads_ready(m->grads_ready_ctx, m->b_off[b], (size_t)m->out[b]));
    l = end;
  }
fail:
  return st;
}

void fm_mlp_watch_grads(fm_mlp *m, fm_grads_ready ready, void *ctx) {
  m->grads_ready = ready;
  m->grads_ready_ctx = ctx;
}

/* Tells the watcher that layer l's weight gradient is enqueued, with its bias gradient
 * when that needs no second pass (the two are adjacent). */
static fm_status weight_grad_ready(fm_mlp *m, int l) {
  if (!m->grads_ready) return FM_OK;
  size_t end = m->pending[l] ? m->w_off[l] + (size_t)m->in[l] * (size_t)m->out[l]
                             : m->b_off[l] + (size_t)m->out[l];
  return m->grads_ready(m->grads_ready_ctx, m->w_off[l], end - m->w_off[l]);
}

/* Layer l's weight and bias gradients from g, the gradient at its pre-activation. groups:
 * the row groups of g's partials already written, 0 for none. */
static fm_status layer_weight_grad(fm_mlp *m, int l, size_t rows, cl_mem g, size_t groups) {
  fm_status st = FM_OK;
  int n = (int)rows;
  size_t in = (size_t)m->in[l], outw = (size_t)m->out[l];
  cl_mem a_mem = layer_input(m, l);
  if (thin_output(m, l))
    return fm_layer_thin_output_grad(m->dev, g, a_mem, n, (int)outw, (int)in, m->grads,
                                     m->w_off[l], m->b_off[l]);
  if (thin_input(m, l))
    return fm_layer_thin_input_grad(m->dev, g, a_mem, n, (int)outw, (int)in, m->grads,
                                    m->w_off[l], m->b_off[l]);
  fm_matrix gz = {g, 0, outw}, a = {a_mem, 0, in}, dw = {m->grads, m->w_off[l], in};
  /* dW_l (out, in) = g^T (out, n) x a (n, in); db_l = column sums of g */
  fm_gemm_impl impl = impl_for(m, FM_OP_WEIGHT_GRAD, outw, in, rows);
  if (impl.provider == FM_GEMM_FMCL) {
    if (fm_gemm_tn_tiled(outw, in) && in >= TRANSPOSED_GRADIENT_FROM &&
        outw >= TRANSPOSED_GRADIENT_FROM) {
      FM_TRY(fm_layer_transpose(m->dev, g, 0, m->grad_t, 0, n, (int)outw, n));
      fm_matrix gt = {m->grad_t, 0, rows};
      return fm_gemm_nn_rowsum(m->dev, outw, in, rows, gt, a, dw, m->grads, m->b_off[l]);
    }
    return fm_gemm_tn_colsum(m->dev, outw, in, rows, gz, a, dw, m->grads, m->b_off[l]);
  }
  FM_TRY(fm_gemm_by(m->dev, &impl, 1, 0, outw, in, rows, 1.0f, gz, a, 0.0f, dw));
  if (!groups) {
    FM_TRY(fm_layer_column_partials(m->dev, g, n, (int)outw, &m->partials, m->col_at[l]));
    FM_TRY(fm_layer_groups(m->dev, rows, &groups));
  }
  m->pending[l] = groups;
fail:
  return st;
}

/* The gradient at layer l - 1's pre-activation, (g W_l) * act'(z_{l-1}), into next; the
 * row groups of the partials written with it (0 when none were). */
static fm_status layer_backward(fm_mlp *m, int l, size_t rows, cl_mem g, cl_mem next,
                                size_t *groups) {
  fm_status st = FM_OK;
  int n = (int)rows;
  size_t in = (size_t)m->in[l], outw = (size_t)m->out[l];
  const fm_partials *p = bias_from_partials(m, l - 1, rows) ? &m->partials : NULL;
  size_t at = m->col_at[l - 1];
  *groups = 0;
  if (p) FM_TRY(fm_layer_groups(m->dev, rows, groups));
  if (thin_output(m, l))
    return fm_layer_thin_output_back(m->dev, g, n, (int)outw, m->params, m->w_off[l], (int)in,
                                     m->d[l - 1], next, p, at);
  fm_matrix gz = {g, 0, outw}, w = {m->params, m->w_off[l], in}, gn = {next, 0, in};
  fm_gemm_impl impl = impl_for(m, FM_OP_BACKWARD, rows, in, outw);
  if (impl.provider == FM_GEMM_FMCL) {
    *groups = 0;
    fm_matrix wp;
    FM_TRY(stored_weights(m, l, &wp));
    return fm_gemm_times(m->dev, rows, in, outw, gz, wp, m->d[l - 1], next, in);
  }
  if (impl.provider == FM_GEMM_FMCL_GPU) {
    if (p) *groups = fm_gpu_row_tiles(&impl.tile, rows);
    return fm_gpu_gemm_times(m->dev, &impl.tile, rows, in, outw, gz, w, m->d[l - 1], next, in,
                             p ? p->mem : NULL, m->partials.ldp, at);
  }
  FM_TRY(fm_gemm_by(m->dev, &impl, 0, 0, rows, in, outw, 1.0f, gz, w, 0.0f, gn));
  FM_TRY(fm_layer_times(m->dev, next, m->d[l - 1], n, (int)in, p, at));
fail:
  return st;
}

/* The gradient at layer l's input, g W_l, into next: a residual model's odd layers, whose
 * input is the normalised stream. */
static fm_status input_gradient(fm_mlp *m, int l, size_t rows, cl_mem g, cl_mem next) {
  fm_status st = FM_OK;
  size_t in = (size_t)m->in[l], outw = (size_t)m->out[l];
  fm_matrix gz = {g, 0, outw}, w = {m->params, m->w_off[l], in}, gn = {next, 0, in};
  fm_gemm_impl impl = impl_for(m, FM_OP_BACKWARD, rows, in, outw);
  if (impl.provider == FM_GEMM_FMCL) FM_TRY(stored_weights(m, l, &w));
  return fm_gemm_by(m->dev, &impl, 0, 0, rows, in, outw, 1.0f, gz, w, 0.0f, gn);
fail:
  return st;
}

/* A residual model's backward pass. grad_s gathers the gradient at the stream: from the
 * output layer, then from each block's branch (through its normalisation) on top of what
 * the skip connection passes unchanged. */
static fm_status residual_backward(fm_mlp *m, cl_mem dout, size_t rows) {
  fm_status st = FM_OK;
  int last = m->n_layers - 1, width = m->out[0], n = (int)rows;
  size_t groups = 0;
  FM_TRY(layer_weight_grad(m, last, rows, dout, 0));
  FM_TRY(weight_grad_ready(m, last));
  FM_TRY(input_gradient(m, last, rows, dout, m->grad_a));
  FM_TRY(fm_layer_norm_back(m->dev, m->grad_a, m->norm[last], m->rstd[last], m->grad_s, 0, rows,
                            width, n));
  for (int l = last - 1; l >= 2; l -= 2) { /* block l / 2: layers l - 1 and l */
    FM_TRY(layer_weight_grad(m, l, rows, m->grad_s, 0));
    FM_TRY(weight_grad_ready(m, l));
    FM_TRY(layer_backward(m, l, rows, m->grad_s, m->grad_a, &groups));
    FM_TRY(layer_weight_grad(m, l - 1, rows, m->grad_a, groups));
    FM_TRY(weight_grad_ready(m, l - 1));
    FM_TRY(input_gradient(m, l - 1, rows, m->grad_a, m->grad_b));
    FM_TRY(fm_layer_norm_back(m->dev, m->grad_b, m->norm[l - 1], m->rstd[l - 1], m->grad_s, 1,
                              rows, width, n));
  }
  const fm_partials *p = bias_from_partials(m, 0, rows) ? &m->partials : NULL;
  FM_TRY(fm_layer_times(m->dev, m->grad_s, m->d[0], n, width, p, m->col_at[0]));
  if (p) FM_TRY(fm_layer_groups(m->dev, rows, &groups));
  FM_TRY(layer_weight_grad(m, 0, rows, m->grad_s, p ? groups : 0));
  FM_TRY(weight_grad_ready(m, 0));
fail:
  return st;
}

fm_status fm_mlp_backward(fm_mlp *m, cl_mem dout, int n) {
  fm_status st = FM_OK;
  FM_TRY(check_batch(m, n));
  size_t rows = (size_t)n, groups = 0;
  FM_TRY(reserve_partials(m, rows));
  for (int l = 0; l < m->n_layers; l++) m->pending[l] = 0;
  if (m->shape.residual) {
    FM_TRY(residual_backward(m, dout, rows));
    return finish_bias_grads(m);
  }
  cl_mem g = dout; /* gradient at the pre-activation of layer l (the output has none) */
  for (int l = m->n_layers - 1; l >= 0; l--) {
    FM_TRY(layer_weight_grad(m, l, rows, g, groups));
    FM_TRY(weight_grad_ready(m, l));
    if (l == 0) break;
    cl_mem next = g == m->grad_a ? m->grad_b : m->grad_a;
    FM_TRY(layer_backward(m, l, rows, g, next, &groups));
    g = next;
  }
  FM_TRY(finish_bias_grads(m));
fail:
  return st;
}

/* A tangent block's product through layer l: c = a W_l^T + beta c (t is held fixed, so the
 * bias has no tangent). */
static fm_status tangent_product(fm_mlp *m, int l, size_t rows, cl_mem a_mem, cl_mem c_mem,
                                 float beta) {
  fm_status st = FM_OK;
  size_t in = (size_t)m->in[l], outw = (size_t)m->out[l];
  fm_matrix a = {a_mem, 0, in}, c = {c_mem, 0, outw};
  fm_gemm_impl impl = impl_for(m, FM_OP_FORWARD, rows, outw, in);
  if (impl.provider == FM_GEMM_FMCL) { /* fmcl's CPU kernels are fast for op(B) = B */
    fm_matrix wt;
    FM_TRY(transposed_weights(m, l, &wt));
    return fm_gemm_by(m->dev, &impl, 0, 0, rows, outw, in, 1.0f, a, wt, beta, c);
  }
  fm_matrix w = {m->params, m->w_off[l], in};
  return fm_gemm_by(m->dev, &impl, 0, 1, rows, outw, in, 1.0f, a, w, beta, c);
fail:
  return st;
}

/* A residual model's tangents from those of its input in tangent_a: the stream's in
 * tangent_s, each block adding its branch's. */
static fm_status residual_tangents(fm_mlp *m, int n, int k, cl_mem out_tangents) {
  fm_status st = FM_OK;
  size_t rows = (size_t)n * (size_t)k;
  int width = m->out[0];
  FM_TRY(tangent_product(m, 0, rows, m->tangent_a, m->tangent_s, 0.0f));
  FM_TRY(fm_layer_tangent_times(m->dev, m->tangent_s, m->d[0], n, k, width));
  for (int l = 1; l < m->n_layers; l += 2) {
    int last = l == m->n_layers - 1;
    cl_mem branch = last ? out_tangents : m->tangent_b;
    FM_TRY(fm_layer_norm_back(m->dev, m->tangent_s, m->norm[l], m->rstd[l], m->tangent_a, 0,
                              rows, width, n));
    FM_TRY(tangent_product(m, l, rows, m->tangent_a, branch, 0.0f));
    if (last) break;
    FM_TRY(fm_layer_tangent_times(m->dev, branch, m->d[l], n, k, m->out[l]));
    FM_TRY(tangent_product(m, l + 1, rows, branch, m->tangent_s, 1.0f));
  }
fail:
  return st;
}

/* Room for rows tangent rows in each tangent buffer. */
static fm_status reserve_tangents(fm_mlp *m, size_t rows) {
  fm_status st = FM_OK;
  if (rows <= (size_t)m->tangent_rows) return FM_OK;
  cl_mem *bufs[] = {&m->tangent_a, &m->tangent_b, &m->tangent_s};
  int count = m->shape.residual ? 3 : 2;
  for (int b = 0; b < 3; b++) {
    fm_device_release(m->dev, *bufs[b]);
    *bufs[b] = NULL;
  }
  m->tangent_rows = 0;
  size_t bytes = rows * (size_t)m->max_width * sizeof(float);
  for (int b = 0; b < count; b++) FM_TRY(fm_device_alloc(m->dev, bytes, "tangents", bufs[b]));
  m->tangent_rows = (int)rows;
fail:
  return st;
}

fm_status fm_mlp_jvp(fm_mlp *m, cl_mem x, cl_mem t, cl_mem labels, int n, cl_mem out,
                     cl_mem tangents, int k, cl_mem out_tangents) {
  fm_status st = FM_OK;
  size_t rows = (size_t)n * (size_t)k;
  FM_TRY(fm_mlp_forward(m, x, t, labels, n, out));
  FM_TRY(reserve_tangents(m, rows));
  FM_TRY(fm_layer_tangent_input(m->dev, tangents, m->tangent_a, rows, m->shape.dim, m->in[0]));
  if (m->shape.residual) return residual_tangents(m, n, k, out_tangents);
  /* Each layer is linear in the tangent: T W^T, then times act'(z) of the point's row. */
  cl_mem cur = m->tangent_a;
  for (int l = 0; l < m->n_layers; l++) {
    int last = l == m->n_layers - 1;
    cl_mem next = last ? out_tangents : (cur == m->tangent_a ? m->tangent_b : m->tangent_a);
    FM_TRY(tangent_product(m, l, rows, cur, next, 0.0f));
    if (!last) FM_TRY(fm_layer_tangent_times(m->dev, next, m->d[l], n, k, m->out[l]));
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
  fm_mlp_params_changed(m);
  return fm_device_write(m->dev, m->params, 0, m->flat_size * sizeof(float), host);
}
