/* Host side of fmcl's products for GPUs (cl/gemm_gpu.cl): each tile shape is a variant of
 * the gemm_gpu program, built with the shape's -D options on first use. */
#include <stdio.h>
#include <string.h>

#include "fmcl/gemm.h"
#include "internal.h"

fm_gpu_tile fm_gpu_tile_default(void) {
  fm_gpu_tile t = {FM_GPU_DEFAULT_WG_M, FM_GPU_DEFAULT_WG_N, FM_GPU_DEFAULT_ITEM_M,
                   FM_GPU_DEFAULT_ITEM_N, FM_GPU_DEFAULT_TILE_K};
  return t;
}

/* Local memory of a tile's kernels: the two panels and the backward epilogue's sums. */
static size_t local_bytes(const fm_gpu_tile *t) {
  size_t tm = (size_t)t->wg_m * t->item_m, tn = (size_t)t->wg_n * t->item_n;
  return sizeof(float) * ((size_t)t->tile_k * (tm + tn) + (size_t)t->wg_m * tn);
}

/* Sets the panel arguments (local memory) at *i: A's and B's. */
static fm_status arg_panels(cl_kernel kern, cl_uint *i, const fm_gpu_tile *t) {
  fm_status st = FM_OK;
  size_t a = sizeof(float) * (size_t)t->tile_k * (size_t)t->wg_m * (size_t)t->item_m;
  size_t b = sizeof(float) * (size_t)t->tile_k * (size_t)t->wg_n * (size_t)t->item_n;
  FM_CL(clSetKernelArg(kern, (*i)++, a, NULL));
  FM_CL(clSetKernelArg(kern, (*i)++, b, NULL));
fail:
  return st;
}

int fm_gpu_tile_fits(const fm_device *dev, const fm_gpu_tile *t) {
  const fm_device_info *d = fm_device_get_info(dev);
  size_t items = (size_t)t->wg_m * (size_t)t->wg_n;
  return t->wg_m > 0 && t->wg_n > 0 && t->item_m > 0 && t->item_n > 0 && t->tile_k > 0 &&
         items <= fm_device_max_work_group(dev) && local_bytes(t) <= d->local_mem;
}

void fm_gpu_tile_options(const fm_gpu_tile *t, char *out, size_t size) {
  snprintf(out, size, "-DFM_GPU_WG_M=%d -DFM_GPU_WG_N=%d -DFM_GPU_ITEM_M=%d -DFM_GPU_ITEM_N=%d "
           "-DFM_GPU_TILE_K=%d", t->wg_m, t->wg_n, t->item_m, t->item_n, t->tile_k);
}

size_t fm_gpu_row_tiles(const fm_gpu_tile *t, size_t m) {
  size_t tm = (size_t)t->wg_m * t->item_m;
  return (m + tm - 1) / tm;
}

/* The tile's kernel, or an error when the device cannot run the tile. */
static fm_status tile_kernel(fm_device *dev, const fm_gpu_tile *t, const char *name,
                             cl_kernel *out) {
  if (!fm_gpu_tile_fits(dev, t))
    return fm_fail(FM_ERR_INVALID, "kernel %s: a tile of %dx%d items with %dx%d accumulators "
                   "and panels %d deep needs %d work-items per group and %zu bytes of local "
                   "memory; %s allows %zu and %llu (choose a smaller tile, or run fmcl tune)",
                   name, t->wg_n, t->wg_m, t->item_m, t->item_n, t->tile_k, t->wg_m * t->wg_n,
                   local_bytes(t), fm_device_get_info(dev)->name, fm_device_max_work_group(dev),
                   (unsigned long long)fm_device_get_info(dev)->local_mem);
  char options[160];
  fm_gpu_tile_options(t, options, sizeof options);
  if (!out) return FM_OK;
  return fm_device_kernel_variant(dev, "gemm_gpu", options, name, out);
}

fm_status fm_gpu_tile_fit(fm_device *dev, fm_gpu_tile *t) {
  char options[160];
  for (;;) {
    size_t allowed = 0, items = (size_t)t->wg_m * (size_t)t->wg_n;
    if (fm_gpu_tile_fits(dev, t)) {
      fm_gpu_tile_options(t, options, sizeof options);
      fm_status st = fm_device_program_limit(dev, "gemm_gpu", options, &allowed);
      if (st != FM_OK || items <= allowed) return st;
    } else if (items == 1) {
      return tile_kernel(dev, t, "fm_gpu_gemm", NULL); /* the error that says why */
    }
    /* Half the work-group along its longer side, the same accumulators per item. */
    if (t->wg_m >= t->wg_n) t->wg_m /= 2;
    else t->wg_n /= 2;
  }
}

/* Launches over C (m, n): one work-group per tile, labelled with the shape for the profile. */
static fm_status launch(fm_device *dev, const fm_gpu_tile *t, cl_kernel kern, const char *what,
                        size_t m, size_t n, size_t k) {
  char label[64];
  snprintf(label, sizeof label, "gpu %s %zux%zux%zu", what, m, n, k);
  size_t tn = (size_t)t->wg_n * t->item_n;
  size_t global[2] = {(n + tn - 1) / tn * (size_t)t->wg_n, fm_gpu_row_tiles(t, m) * (size_t)t->wg_m};
  size_t local[2] = {(size_t)t->wg_n, (size_t)t->wg_m};
  return fm_device_launch_as(dev, label, kern, 2, global, local);
}

static fm_status arg_matrix(cl_kernel kern, cl_uint *i, fm_matrix x) {
  fm_status st = FM_OK;
  cl_int off = (cl_int)x.offset, ld = (cl_int)x.ld;
  FM_CL(FM_ARG(kern, (*i)++, x.mem));
  FM_CL(FM_ARG(kern, (*i)++, off));
  FM_CL(FM_ARG(kern, (*i)++, ld));
fail:
  return st;
}

static fm_status arg_shape(cl_kernel kern, cl_uint *i, size_t m, size_t n, size_t k) {
  fm_status st = FM_OK;
  cl_int im = (cl_int)m, in = (cl_int)n, ik = (cl_int)k;
  FM_CL(FM_ARG(kern, (*i)++, im));
  FM_CL(FM_ARG(kern, (*i)++, in));
  FM_CL(FM_ARG(kern, (*i)++, ik));
fail:
  return st;
}

fm_status fm_gpu_gemm(fm_device *dev, const fm_gpu_tile *t, int trans_a, int trans_b, size_t m,
                      size_t n, size_t k, float alpha, fm_matrix a, fm_matrix b, float beta,
                      fm_matrix c) {
  fm_status st = FM_OK;
  cl_kernel kern = NULL;
  FM_TRY(tile_kernel(dev, t, "fm_gpu_gemm", &kern));
  cl_int ta = trans_a, tb = trans_b;
  cl_uint i = 0;
  FM_TRY(arg_shape(kern, &i, m, n, k));
  FM_CL(FM_ARG(kern, i++, alpha));
  FM_TRY(arg_matrix(kern, &i, a));
  FM_CL(FM_ARG(kern, i++, ta));
  FM_TRY(arg_matrix(kern, &i, b));
  FM_CL(FM_ARG(kern, i++, tb));
  FM_CL(FM_ARG(kern, i++, beta));
  FM_TRY(arg_matrix(kern, &i, c));
  FM_TRY(arg_panels(kern, &i, t));
  FM_TRY(launch(dev, t, kern, trans_a ? (trans_b ? "TT" : "TN") : (trans_b ? "NT" : "NN"), m, n, k));
fail:
  return st;
}

fm_status fm_gpu_gemm_bias_act(fm_device *dev, const fm_gpu_tile *t, size_t m, size_t n,
                               size_t k, fm_matrix a, fm_matrix w, cl_mem params, size_t bias_at,
                               const char *act, cl_mem d, cl_mem h, size_t ldc) {
  fm_status st = FM_OK;
  cl_kernel kern = NULL;
  char name[64];
  snprintf(name, sizeof name, "fm_gpu_gemm_bias_%s", act);
  FM_TRY(tile_kernel(dev, t, name, &kern));
  cl_int at = (cl_int)bias_at, keep = d != NULL, ic = (cl_int)ldc;
  cl_mem d_arg = d ? d : h; /* never written when keep is 0 */
  cl_uint i = 0;
  FM_TRY(arg_shape(kern, &i, m, n, k));
  FM_TRY(arg_matrix(kern, &i, a));
  FM_TRY(arg_matrix(kern, &i, w));
  FM_CL(FM_ARG(kern, i++, params));
  FM_CL(FM_ARG(kern, i++, at));
  FM_CL(FM_ARG(kern, i++, keep));
  FM_CL(FM_ARG(kern, i++, d_arg));
  FM_CL(FM_ARG(kern, i++, h));
  FM_CL(FM_ARG(kern, i++, ic));
  FM_TRY(arg_panels(kern, &i, t));
  FM_TRY(launch(dev, t, kern, "NT+bias", m, n, k));
fail:
  return st;
}

fm_status fm_gpu_gemm_times(fm_device *dev, const fm_gpu_tile *t, size_t m, size_t n,
                            size_t k, fm_matrix a, fm_matrix b, cl_mem d, cl_mem g, size_t ldc,
                            cl_mem partial, size_t ldp, size_t at) {
  fm_status st = FM_OK;
  cl_kernel kern = NULL;
  FM_TRY(tile_kernel(dev, t, "fm_gpu_gemm_times", &kern));
  cl_int ic = (cl_int)ldc, want = partial != NULL, ip = (cl_int)ldp, iat = (cl_int)at;
  cl_mem p_arg = partial ? partial : g; /* never written when want is 0 */
  cl_uint i = 0;
  FM_TRY(arg_shape(kern, &i, m, n, k));
  FM_TRY(arg_matrix(kern, &i, a));
  FM_TRY(arg_matrix(kern, &i, b));
  FM_CL(FM_ARG(kern, i++, d));
  FM_CL(FM_ARG(kern, i++, g));
  FM_CL(FM_ARG(kern, i++, ic));
  FM_CL(FM_ARG(kern, i++, want));
  FM_CL(FM_ARG(kern, i++, p_arg));
  FM_CL(FM_ARG(kern, i++, ip));
  FM_CL(FM_ARG(kern, i++, iat));
  FM_TRY(arg_panels(kern, &i, t));
  FM_CL(clSetKernelArg(kern, i++, sizeof(float) * (size_t)t->wg_m * (size_t)t->wg_n * (size_t)t->item_n,
                       NULL));
  FM_TRY(launch(dev, t, kern, "NN*dact", m, n, k));
fail:
  return st;
}
