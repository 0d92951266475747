/* Host side of a layer's kernels besides its product (cl/mlp.cl, cl/mlp_thin.cl). */
#include "layer.h"

#include <stdio.h>

#include "internal.h"

/* FM_COLS_X and FM_COLS_Y of cl/reduce.cl in kernel k's program. */
static void cols_local(const fm_device *dev, cl_kernel k, size_t local[2]) {
  size_t wg = fm_device_kernel_limits(dev, k)->reduce_wg;
  local[0] = wg < 16 ? wg : 16;
  local[1] = wg / local[0];
}

/* Row groups of kernel k's striding first pass over n rows. */
static size_t groups_of(const fm_device *dev, cl_kernel k, size_t n) {
  return fm_reduce_groups(fm_device_kernel_limits(dev, k)->reduce_wg, n);
}

fm_status fm_layer_groups(fm_device *dev, size_t n, size_t *groups) {
  cl_kernel k = NULL;
  fm_status st = fm_device_kernel(dev, "mlp", "fm_column_partials", &k);
  *groups = st == FM_OK ? groups_of(dev, k, n) : 0;
  return st;
}

/* A (FM_COLS_X, FM_COLS_Y) launch over width columns and rows_items rows of items. */
static fm_status launch_cols(fm_device *dev, cl_kernel k, size_t width, size_t row_items) {
  size_t local[2], global[2];
  cols_local(dev, k, local);
  global[0] = width;
  global[1] = row_items;
  return fm_device_launch(dev, k, 2, global, local);
}

/* A 2-D work-group for an elementwise (width, n) range: as wide as the matrix, up to 64. */
static fm_status launch_rows(fm_device *dev, cl_kernel k, int width, int n) {
  size_t lx = 1;
  while (lx < (size_t)width && lx < 64) lx *= 2;
  size_t total = fm_device_local_1d(dev);
  if (total < lx) lx = total;
  size_t global[2] = {(size_t)width, (size_t)n}, local[2] = {lx, total / lx};
  return fm_device_launch(dev, k, 2, global, local);
}

/* Sets the kernel's arguments in order from a list of (size, pointer) pairs. */
#define ARGS(k, ...)                                                                       \
  do {                                                                                     \
    const struct {                                                                         \
      size_t size;                                                                         \
      const void *value;                                                                   \
    } args_[] = {__VA_ARGS__};                                                             \
    for (cl_uint i_ = 0; i_ < (cl_uint)FM_ARRAY_LEN(args_); i_++)                          \
      FM_CL(clSetKernelArg((k), i_, args_[i_].size, args_[i_].value));                     \
  } while (0)
#define A(v) {sizeof(v), &(v)}

fm_status fm_layer_input(fm_device *dev, cl_mem x, cl_mem t, cl_mem labels, int n, int dim,
                         int n_freq, int n_classes, cl_mem in) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  cl_uint un = (cl_uint)n, ud = (cl_uint)dim, uf = (cl_uint)n_freq, uc = (cl_uint)n_classes;
  cl_int has = labels != NULL;
  cl_mem label_arg = labels ? labels : t; /* any valid buffer when unused */
  FM_TRY(fm_device_kernel(dev, "mlp", "fm_mlp_input", &k));
  ARGS(k, A(x), A(t), A(label_arg), A(has), A(in), A(un), A(ud), A(uf), A(uc));
  size_t rows = (size_t)n;
  FM_TRY(fm_device_launch(dev, k, 1, &rows, NULL));
fail:
  return st;
}

fm_status fm_layer_bias_act(fm_device *dev, const char *act, cl_mem zd, cl_mem h, cl_mem params,
                            size_t b_at, int n, int width) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  char name[64];
  snprintf(name, sizeof name, "fm_bias_%s", act);
  cl_uint un = (cl_uint)n, uw = (cl_uint)width, at = (cl_uint)b_at;
  FM_TRY(fm_device_kernel(dev, "mlp", name, &k));
  ARGS(k, A(zd), A(h), A(params), A(at), A(un), A(uw));
  FM_TRY(launch_rows(dev, k, width, n));
fail:
  return st;
}

fm_status fm_layer_bias_add(fm_device *dev, cl_mem y, cl_mem params, size_t b_at, int n,
                            int width) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  cl_uint un = (cl_uint)n, uw = (cl_uint)width, at = (cl_uint)b_at;
  FM_TRY(fm_device_kernel(dev, "mlp", "fm_bias_add", &k));
  ARGS(k, A(y), A(params), A(at), A(un), A(uw));
  FM_TRY(launch_rows(dev, k, width, n));
fail:
  return st;
}

/* The partial-sum arguments: want, buffer, row stride, first column. */
typedef struct partial_args {
  cl_int want;
  cl_mem mem;
  cl_uint ldp, at;
} partial_args;

static partial_args partials_of(const fm_partials *p, size_t at, cl_mem any) {
  partial_args a = {p != NULL, p ? p->mem : any, p ? (cl_uint)p->ldp : 0, (cl_uint)at};
  return a;
}

fm_status fm_layer_times(fm_device *dev, cl_mem g, cl_mem d, int n, int width,
                         const fm_partials *p, size_t at) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  cl_uint un = (cl_uint)n, uw = (cl_uint)width;
  partial_args pa = partials_of(p, at, g);
  FM_TRY(fm_device_kernel(dev, "mlp", "fm_times_partials", &k));
  ARGS(k, A(g), A(d), A(un), A(uw), A(pa.want), A(pa.mem), A(pa.ldp), A(pa.at));
  size_t local[2];
  cols_local(dev, k, local);
  FM_TRY(launch_cols(dev, k, (size_t)width, groups_of(dev, k, (size_t)n) * local[1]));
fail:
  return st;
}

fm_status fm_layer_column_partials(fm_device *dev, cl_mem g, int n, int width,
                                   const fm_partials *p, size_t at) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  cl_uint un = (cl_uint)n, uw = (cl_uint)width, ldp = (cl_uint)p->ldp, uat = (cl_uint)at;
  FM_TRY(fm_device_kernel(dev, "mlp", "fm_column_partials", &k));
  ARGS(k, A(g), A(un), A(uw), A(p->mem), A(ldp), A(uat));
  size_t local[2];
  cols_local(dev, k, local);
  FM_TRY(launch_cols(dev, k, (size_t)width, groups_of(dev, k, (size_t)n) * local[1]));
fail:
  return st;
}

fm_status fm_layer_column_finish(fm_device *dev, const fm_partials *p, size_t groups,
                                 size_t first, size_t count, cl_mem dest, cl_mem grads) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  cl_uint ug = (cl_uint)groups, ldp = (cl_uint)p->ldp, uf = (cl_uint)first, uc = (cl_uint)count;
  FM_TRY(fm_device_kernel(dev, "mlp", "fm_column_finish", &k));
  ARGS(k, A(p->mem), A(ug), A(ldp), A(uf), A(uc), A(dest), A(grads));
  FM_TRY(fm_device_launch(dev, k, 1, &count, NULL));
fail:
  return st;
}

fm_status fm_layer_thin_input(fm_device *dev, const char *act, cl_mem x, cl_mem t, cl_mem labels,
                              int n, int dim, int n_freq, int n_classes, cl_mem in,
                              cl_mem params, size_t w_at, size_t b_at, int width, cl_mem d,
                              cl_mem h) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  char name[64];
  snprintf(name, sizeof name, "fm_thin_input_%s", act);
  cl_uint un = (cl_uint)n, ud = (cl_uint)dim, uf = (cl_uint)n_freq, uc = (cl_uint)n_classes;
  cl_uint uw_at = (cl_uint)w_at, ub_at = (cl_uint)b_at, uw = (cl_uint)width;
  cl_int has = labels != NULL, keep = d != NULL;
  cl_mem label_arg = labels ? labels : t, d_arg = d ? d : h; /* unused when not wanted */
  FM_TRY(fm_device_kernel(dev, "mlp", name, &k));
  ARGS(k, A(x), A(t), A(label_arg), A(has), A(in), A(un), A(ud), A(uf), A(uc), A(params),
       A(uw_at), A(ub_at), A(uw), A(keep), A(d_arg), A(h));
  FM_TRY(launch_cols(dev, k, (size_t)width, (size_t)n));
fail:
  return st;
}

fm_status fm_layer_thin_output(fm_device *dev, cl_mem h, int n, int k_in, cl_mem params,
                               size_t w_at, size_t b_at, int dim, cl_mem out) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  cl_uint un = (cl_uint)n, uk = (cl_uint)k_in, uw_at = (cl_uint)w_at, ub_at = (cl_uint)b_at;
  cl_uint ud = (cl_uint)dim;
  FM_TRY(fm_device_kernel(dev, "mlp", "fm_thin_output", &k));
  ARGS(k, A(h), A(un), A(uk), A(params), A(uw_at), A(ub_at), A(ud), A(out));
  size_t local[2];
  cols_local(dev, k, local);
  FM_TRY(launch_cols(dev, k, local[0], (size_t)n));
fail:
  return st;
}

fm_status fm_layer_thin_output_grad(fm_device *dev, cl_mem g, cl_mem h, int n, int dim, int k_in,
                                    cl_mem grads, size_t w_at, size_t b_at) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  cl_uint un = (cl_uint)n, ud = (cl_uint)dim, uk = (cl_uint)k_in;
  cl_uint uw_at = (cl_uint)w_at, ub_at = (cl_uint)b_at;
  FM_TRY(fm_device_kernel(dev, "mlp", "fm_thin_output_grad", &k));
  ARGS(k, A(g), A(h), A(un), A(ud), A(uk), A(grads), A(uw_at), A(ub_at));
  size_t local[2];
  cols_local(dev, k, local);
  FM_TRY(launch_cols(dev, k, (size_t)k_in, local[1]));
fail:
  return st;
}

fm_status fm_layer_thin_input_grad(fm_device *dev, cl_mem g, cl_mem x, int n, int width, int in,
                                   cl_mem grads, size_t w_at, size_t b_at) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  cl_uint un = (cl_uint)n, uw = (cl_uint)width, ui = (cl_uint)in;
  cl_uint uw_at = (cl_uint)w_at, ub_at = (cl_uint)b_at;
  FM_TRY(fm_device_kernel(dev, "mlp", "fm_thin_input_grad", &k));
  ARGS(k, A(g), A(x), A(un), A(uw), A(ui), A(grads), A(uw_at), A(ub_at));
  size_t local[2];
  cols_local(dev, k, local);
  FM_TRY(launch_cols(dev, k, (size_t)width, local[1]));
fail:
  return st;
}

fm_status fm_layer_thin_output_back(fm_device *dev, cl_mem dv, int n, int dim, cl_mem params,
                                    size_t w_at, int k_out, cl_mem d, cl_mem g,
                                    const fm_partials *p, size_t at) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  cl_uint un = (cl_uint)n, ud = (cl_uint)dim, uw_at = (cl_uint)w_at, uk = (cl_uint)k_out;
  partial_args pa = partials_of(p, at, g);
  FM_TRY(fm_device_kernel(dev, "mlp", "fm_thin_output_back", &k));
  ARGS(k, A(dv), A(un), A(ud), A(params), A(uw_at), A(uk), A(d), A(g), A(pa.want), A(pa.mem),
       A(pa.ldp), A(pa.at));
  size_t local[2];
  cols_local(dev, k, local);
  FM_TRY(launch_cols(dev, k, (size_t)k_out, groups_of(dev, k, (size_t)n) * local[1]));
fail:
  return st;
}

fm_status fm_layer_transpose(fm_device *dev, cl_mem src, size_t at, cl_mem dst, size_t dst_at,
                             int rows, int cols, int ld) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  cl_uint uat = (cl_uint)at, udst = (cl_uint)dst_at, ur = (cl_uint)rows, uc = (cl_uint)cols;
  cl_uint uld = (cl_uint)ld;
  FM_TRY(fm_device_kernel(dev, "mlp", "fm_transpose", &k));
  ARGS(k, A(src), A(uat), A(dst), A(udst), A(ur), A(uc), A(uld));
  FM_TRY(launch_rows(dev, k, cols, (rows + 15) / 16));
fail:
  return st;
}

fm_status fm_layer_copy_strided(fm_device *dev, cl_mem src, size_t at, cl_mem dst,
                                size_t dst_at, int rows, int cols, int ld) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  cl_uint uat = (cl_uint)at, udst = (cl_uint)dst_at, ur = (cl_uint)rows, uc = (cl_uint)cols;
  cl_uint uld = (cl_uint)ld;
  FM_TRY(fm_device_kernel(dev, "mlp", "fm_copy_strided", &k));
  ARGS(k, A(src), A(uat), A(dst), A(udst), A(ur), A(uc), A(uld));
  FM_TRY(launch_rows(dev, k, cols, rows));
fail:
  return st;
}

fm_status fm_layer_tangent_input(fm_device *dev, cl_mem tx, cl_mem tin, size_t rows, int dim,
                                 int width) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  cl_uint ur = (cl_uint)rows, ud = (cl_uint)dim, uw = (cl_uint)width;
  FM_TRY(fm_device_kernel(dev, "mlp", "fm_tangent_input", &k));
  ARGS(k, A(tx), A(tin), A(ur), A(ud), A(uw));
  FM_TRY(fm_device_launch(dev, k, 1, &rows, NULL));
fail:
  return st;
}

fm_status fm_layer_tangent_times(fm_device *dev, cl_mem tg, cl_mem d, int n, int k_blocks,
                                 int width) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  cl_uint un = (cl_uint)n, uk = (cl_uint)k_blocks, uw = (cl_uint)width;
  FM_TRY(fm_device_kernel(dev, "mlp", "fm_tangent_times", &k));
  ARGS(k, A(tg), A(d), A(un), A(uk), A(uw));
  FM_TRY(launch_rows(dev, k, width, n));
fail:
  return st;
}

/* A launch of FM_COLS_X work-items a row, FM_COLS_Y rows a work-group. */
static fm_status launch_per_row(fm_device *dev, cl_kernel k, size_t rows) {
  size_t local[2], global[2];
  cols_local(dev, k, local);
  global[0] = local[0];
  global[1] = (rows + local[1] - 1) / local[1] * local[1];
  return fm_device_launch(dev, k, 2, global, local);
}

fm_status fm_layer_norm(fm_device *dev, cl_mem s, cl_mem prev, cl_mem y, cl_mem rstd, int n,
                        int width) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  cl_int has_prev = prev != NULL;
  cl_mem prev_arg = prev ? prev : s; /* any valid buffer when unused */
  cl_uint un = (cl_uint)n, uw = (cl_uint)width;
  FM_TRY(fm_device_kernel(dev, "mlp", "fm_norm", &k));
  ARGS(k, A(s), A(prev_arg), A(has_prev), A(y), A(rstd), A(un), A(uw));
  FM_TRY(launch_per_row(dev, k, (size_t)n));
fail:
  return st;
}

fm_status fm_layer_norm_back(fm_device *dev, cl_mem g, cl_mem y, cl_mem rstd, cl_mem out,
                             int accumulate, size_t rows, int width, int period) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  cl_int acc = accumulate != 0;
  cl_uint ur = (cl_uint)rows, uw = (cl_uint)width, up = (cl_uint)period;
  FM_TRY(fm_device_kernel(dev, "mlp", "fm_norm_back", &k));
  ARGS(k, A(g), A(y), A(rstd), A(out), A(acc), A(ur), A(uw), A(up));
  FM_TRY(launch_per_row(dev, k, rows));
fail:
  return st;
}
