/* Matrix products through CLBlast or fmcl's own tiled kernels, with every failure named. */
#include "fmcl/gemm.h"

#include <clblast_c.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char *clblast_status_name(CLBlastStatusCode s) {
  switch (s) {
  case CLBlastNotImplemented: return "CLBlastNotImplemented";
  case CLBlastInvalidMatrixA: return "CLBlastInvalidMatrixA";
  case CLBlastInvalidMatrixB: return "CLBlastInvalidMatrixB";
  case CLBlastInvalidMatrixC: return "CLBlastInvalidMatrixC";
  case CLBlastInvalidDimension: return "CLBlastInvalidDimension";
  case CLBlastInvalidLeadDimA: return "CLBlastInvalidLeadDimA";
  case CLBlastInvalidLeadDimB: return "CLBlastInvalidLeadDimB";
  case CLBlastInvalidLeadDimC: return "CLBlastInvalidLeadDimC";
  case CLBlastInsufficientMemoryA: return "CLBlastInsufficientMemoryA";
  case CLBlastInsufficientMemoryB: return "CLBlastInsufficientMemoryB";
  case CLBlastInsufficientMemoryC: return "CLBlastInsufficientMemoryC";
  case CLBlastInsufficientMemoryTemp: return "CLBlastInsufficientMemoryTemp";
  case CLBlastInvalidOverrideKernel: return "CLBlastInvalidOverrideKernel";
  case CLBlastMissingOverrideParameter: return "CLBlastMissingOverrideParameter";
  case CLBlastInvalidLocalMemUsage: return "CLBlastInvalidLocalMemUsage";
  case CLBlastDatabaseError: return "CLBlastDatabaseError";
  case CLBlastUnknownError: return "CLBlastUnknownError";
  case CLBlastUnexpectedError: return "CLBlastUnexpectedError";
  default: return fm_cl_error_name((int)s);
  }
}

const char *const fm_gemm_op_names[] = {"forward", "weight_grad", "backward", NULL};

fm_gemm_provider fm_gemm_resolve(const fm_device *dev, fm_gemm_provider provider) {
  if (provider == FM_GEMM_AUTO) provider = fm_device_default_gemm(dev);
  if (provider == FM_GEMM_FMCL && strcmp(fm_device_get_info(dev)->type, "CPU") != 0)
    return FM_GEMM_FMCL_GPU;
  return provider;
}

fm_gemm_impl fm_gemm_choose(const fm_gemm_tuning *t, const fm_device *dev,
                            fm_gemm_provider provider, const fm_gpu_tile *tile, fm_gemm_op op,
                            size_t m, size_t n, size_t k) {
  if (provider == FM_GEMM_AUTO)
    for (int i = 0; t && i < t->n_choices; i++) {
      const fm_gemm_choice *c = &t->choices[i];
      if (c->op == op && c->m == m && c->n == n && c->k == k) return c->impl;
    }
  fm_gemm_impl impl = {fm_gemm_resolve(dev, provider), *tile};
  return impl;
}

fm_status fm_gemm_set_clblast_params(fm_device *dev, const char *kernel,
                                     const fm_clblast_params *p) {
  if (p->n <= 0) return FM_OK;
  const char *list[FM_CLBLAST_MAX_PARAMS];
  for (int i = 0; i < p->n && i < FM_CLBLAST_MAX_PARAMS; i++) list[i] = p->names[i];
  CLBlastStatusCode s = CLBlastOverrideParameters(fm_device_get_info(dev)->id, kernel,
                                                  CLBlastPrecisionSingle, (size_t)p->n, list,
                                                  p->values);
  if (s != CLBlastSuccess)
    return fm_fail(FM_ERR_CLBLAST, "CLBlastOverrideParameters(%s) failed: %s (%d)", kernel,
                   clblast_status_name(s), (int)s);
  return FM_OK;
}

static fm_status launch_tiles(fm_device *dev, cl_kernel kern, const char *what, size_t m, size_t n,
                              size_t k);

/* The arguments fmcl's kernels share: the shape m, n, k, and a matrix as (buffer,
 * offset, row stride). *i is the next argument's index. */
static fm_status arg_shape(cl_kernel kern, cl_uint *i, size_t m, size_t n, size_t k) {
  fm_status st = FM_OK;
  cl_int im = (cl_int)m, in = (cl_int)n, ik = (cl_int)k;
  FM_CL(FM_ARG(kern, (*i)++, im));
  FM_CL(FM_ARG(kern, (*i)++, in));
  FM_CL(FM_ARG(kern, (*i)++, ik));
fail:
  return st;
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

/* fmcl's kernels: tiled for op(B) = B, one item per element otherwise. */
static fm_status gemm_fmcl(fm_device *dev, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                           float alpha, fm_matrix a, fm_matrix b, float beta, fm_matrix c) {
  fm_status st = FM_OK;
  cl_kernel kern = NULL;
  int tiled = !trans_b;
  FM_TRY(fm_device_kernel(dev, "gemm", !tiled ? "fm_gemm_any" : trans_a ? "fm_gemm_tn" : "fm_gemm_nn",
                          &kern));
  cl_int ta = trans_a, tb = trans_b, unit = 1;
  cl_uint i = 0;
  FM_TRY(arg_shape(kern, &i, m, n, k));
  FM_CL(FM_ARG(kern, i++, alpha));
  FM_TRY(arg_matrix(kern, &i, a));
  if (!tiled) FM_CL(FM_ARG(kern, i++, ta));
  FM_TRY(arg_matrix(kern, &i, b));
  if (!tiled) FM_CL(FM_ARG(kern, i++, tb));
  FM_CL(FM_ARG(kern, i++, beta));
  FM_TRY(arg_matrix(kern, &i, c));
  if (tiled && trans_a) FM_CL(FM_ARG(kern, i++, unit));
  if (tiled) {
    FM_TRY(launch_tiles(dev, kern, trans_a ? "gemm TN" : "gemm NN", m, n, k));
  } else {
    char label[64];
    snprintf(label, sizeof label, "gemm any %c%c %zux%zux%zu", trans_a ? 'T' : 'N',
             trans_b ? 'T' : 'N', m, n, k);
    size_t global[2] = {n, m}, local[2] = {8, 8};
    FM_TRY(fm_device_launch_as(dev, label, kern, 2, global, local));
  }
fail:
  return st;
}

/* Launches a tiled kernel over C (m, n) with a profile label naming its shape. */
static fm_status launch_tiles(fm_device *dev, cl_kernel kern, const char *what, size_t m, size_t n,
                              size_t k) {
  char label[64];
  snprintf(label, sizeof label, "%s %zux%zux%zu", what, m, n, k);
  size_t global[2] = {(m + FM_GEMM_TILE_M - 1) / FM_GEMM_TILE_M,
                      (n + FM_GEMM_TILE_N - 1) / FM_GEMM_TILE_N},
         local[2] = {1, 1};
  return fm_device_launch_as(dev, label, kern, 2, global, local);
}

fm_status fm_gemm_bias_act(fm_device *dev, size_t m, size_t n, size_t k, fm_matrix a, fm_matrix b,
                           cl_mem params, size_t bias_at, const char *act, cl_mem d, cl_mem h,
                           size_t ldc) {
  fm_status st = FM_OK;
  cl_kernel kern = NULL;
  char name[64];
  snprintf(name, sizeof name, "fm_gemm_nn_bias_%s%s", act, d ? "" : "_h");
  FM_TRY(fm_device_kernel(dev, "gemm", name, &kern));
  cl_int at = (cl_int)bias_at, ic = (cl_int)ldc;
  cl_mem d_arg = d ? d : h; /* the _h kernels never touch it */
  cl_uint i = 0;
  FM_TRY(arg_shape(kern, &i, m, n, k));
  FM_TRY(arg_matrix(kern, &i, a));
  FM_TRY(arg_matrix(kern, &i, b));
  FM_CL(FM_ARG(kern, i++, params));
  FM_CL(FM_ARG(kern, i++, at));
  FM_CL(FM_ARG(kern, i++, d_arg));
  FM_CL(FM_ARG(kern, i++, h));
  FM_CL(FM_ARG(kern, i++, ic));
  FM_TRY(launch_tiles(dev, kern, "gemm NN+bias", m, n, k));
fail:
  return st;
}

fm_status fm_gemm_times(fm_device *dev, size_t m, size_t n, size_t k, fm_matrix a, fm_matrix b,
                        cl_mem d, cl_mem g, size_t ldc) {
  fm_status st = FM_OK;
  cl_kernel kern = NULL;
  FM_TRY(fm_device_kernel(dev, "gemm", "fm_gemm_nn_times", &kern));
  cl_int ic = (cl_int)ldc;
  cl_uint i = 0;
  FM_TRY(arg_shape(kern, &i, m, n, k));
  FM_TRY(arg_matrix(kern, &i, a));
  FM_TRY(arg_matrix(kern, &i, b));
  FM_CL(FM_ARG(kern, i++, d));
  FM_CL(FM_ARG(kern, i++, g));
  FM_CL(FM_ARG(kern, i++, ic));
  FM_TRY(launch_tiles(dev, kern, "gemm NN*dact", m, n, k));
fail:
  return st;
}

/* The kernels that give a layer's weight and bias gradients: the tiled A^T B with column
 * sums, its thin variants, and A B with row sums for A stored transposed. */
typedef enum grad_kind { TN_TILED, TN_THIN_M, TN_THIN_N, NN_ROWSUM } grad_kind;

/* One weight-gradient launch; sums_at < 0 leaves the sums to another launch. */
static fm_status grad_launch(fm_device *dev, grad_kind kind, size_t m, size_t n, size_t k,
                             fm_matrix a, fm_matrix b, fm_matrix c, cl_mem sums, int sums_at) {
  static const char *names[] = {"fm_gemm_tn_colsum", "fm_gemm_tn_thin_m", "fm_gemm_tn_thin_n",
                                "fm_gemm_nn_rowsum"};
  fm_status st = FM_OK;
  cl_kernel kern = NULL;
  FM_TRY(fm_device_kernel(dev, "gemm", names[kind], &kern));
  cl_int at = sums_at, unit = 1;
  cl_uint i = 0;
  FM_TRY(arg_shape(kern, &i, m, n, k));
  FM_TRY(arg_matrix(kern, &i, a));
  FM_TRY(arg_matrix(kern, &i, b));
  FM_TRY(arg_matrix(kern, &i, c));
  FM_CL(FM_ARG(kern, i++, sums));
  FM_CL(FM_ARG(kern, i++, at));
  if (kind == TN_TILED) {
    FM_CL(FM_ARG(kern, i++, unit));
    FM_TRY(launch_tiles(dev, kern, "gemm TN+colsum", m, n, k));
  } else if (kind == NN_ROWSUM) {
    FM_TRY(launch_tiles(dev, kern, "gemm NN+rowsum", m, n, k));
  } else {
    char label[64];
    snprintf(label, sizeof label, "gemm TN+colsum thin %zux%zux%zu", m, n, k);
    size_t global = ((kind == TN_THIN_M ? n : m) + 15) / 16, local = 1;
    FM_TRY(fm_device_launch_as(dev, label, kern, 1, &global, &local));
  }
fail:
  return st;
}

fm_status fm_gemm_tn_colsum(fm_device *dev, size_t m, size_t n, size_t k, fm_matrix a,
                            fm_matrix b, fm_matrix c, cl_mem sums, size_t sums_at) {
  fm_status st = FM_OK;
  int at = (int)sums_at;
  if (m <= FM_GEMM_THIN) return grad_launch(dev, TN_THIN_M, m, n, k, a, b, c, sums, at);
  if (n <= FM_GEMM_THIN) return grad_launch(dev, TN_THIN_N, m, n, k, a, b, c, sums, at);
  if (fm_gemm_tn_tiled(m, n)) return grad_launch(dev, TN_TILED, m, n, k, a, b, c, sums, at);
  /* A few columns past the last whole tile (the time column of a 64-D input layer: 65 =
   * 2 x 32 + 1) would cost a whole tile each row; the thin kernel takes them instead. */
  size_t rest = n % FM_GEMM_TILE_N;
  FM_TRY(grad_launch(dev, TN_TILED, m, n - rest, k, a, b, c, sums, at));
  b.offset += n - rest;
  c.offset += n - rest;
  FM_TRY(grad_launch(dev, TN_THIN_N, m, rest, k, a, b, c, sums, -1));
fail:
  return st;
}

fm_status fm_gemm_nn_rowsum(fm_device *dev, size_t m, size_t n, size_t k, fm_matrix a,
                            fm_matrix b, fm_matrix c, cl_mem sums, size_t sums_at) {
  return grad_launch(dev, NN_ROWSUM, m, n, k, a, b, c, sums, (int)sums_at);
}

int fm_gemm_tn_tiled(size_t m, size_t n) {
  size_t rest = n % FM_GEMM_TILE_N;
  return m > FM_GEMM_THIN && n > FM_GEMM_THIN &&
         (n < FM_GEMM_TILE_N || rest == 0 || rest > FM_GEMM_THIN);
}

fm_status fm_gemm_nt_bias(fm_device *dev, size_t m, size_t n, size_t k, fm_matrix a, fm_matrix w,
                          cl_mem params, size_t bias_at, cl_mem z, size_t ldz) {
  fm_status st = FM_OK;
  cl_kernel kern = NULL;
  if (n > FM_GEMM_THIN || w.ld != k)
    return fm_fail(FM_ERR_INVALID, "fm_gemm_nt_bias: n %zu > %d or W not packed", n, FM_GEMM_THIN);
  FM_TRY(fm_device_kernel(dev, "gemm", "fm_gemm_nt_thin_bias", &kern));
  cl_int offw = (cl_int)w.offset, at = (cl_int)bias_at, iz = (cl_int)ldz;
  cl_uint i = 0;
  FM_TRY(arg_shape(kern, &i, m, n, k));
  FM_TRY(arg_matrix(kern, &i, a));
  FM_CL(FM_ARG(kern, i++, w.mem));
  FM_CL(FM_ARG(kern, i++, offw));
  FM_CL(FM_ARG(kern, i++, params));
  FM_CL(FM_ARG(kern, i++, at));
  FM_CL(FM_ARG(kern, i++, z));
  FM_CL(FM_ARG(kern, i++, iz));
  char label[64];
  snprintf(label, sizeof label, "gemm NT+bias thin %zux%zux%zu", m, n, k);
  size_t global = m, local = 1;
  FM_TRY(fm_device_launch_as(dev, label, kern, 1, &global, &local));
fail:
  return st;
}

fm_status fm_gemm(fm_device *dev, fm_gemm_provider provider, int trans_a, int trans_b, size_t m,
                  size_t n, size_t k, float alpha, fm_matrix a, fm_matrix b, float beta,
                  fm_matrix c) {
  fm_gemm_impl impl = {fm_gemm_resolve(dev, provider), fm_gpu_tile_default()};
  if (impl.provider == FM_GEMM_FMCL_GPU) {
    fm_status st = fm_gpu_tile_fit(dev, &impl.tile);
    if (st != FM_OK) return st;
  }
  return fm_gemm_by(dev, &impl, trans_a, trans_b, m, n, k, alpha, a, b, beta, c);
}

fm_status fm_gemm_by(fm_device *dev, const fm_gemm_impl *impl, int trans_a, int trans_b,
                     size_t m, size_t n, size_t k, float alpha, fm_matrix a, fm_matrix b,
                     float beta, fm_matrix c) {
  if (m == 0 || n == 0) return FM_OK;
  fm_gemm_provider provider = fm_gemm_resolve(dev, impl->provider);
  if (provider == FM_GEMM_FMCL)
    return gemm_fmcl(dev, trans_a, trans_b, m, n, k, alpha, a, b, beta, c);
  if (provider == FM_GEMM_FMCL_GPU)
    return fm_gpu_gemm(dev, &impl->tile, trans_a, trans_b, m, n, k, alpha, a, b, beta, c);
  cl_command_queue queue = fm_device_queue(dev);
  CLBlastTranspose ta = trans_a ? CLBlastTransposeYes : CLBlastTransposeNo;
  CLBlastTranspose tb = trans_b ? CLBlastTransposeYes : CLBlastTransposeNo;
  /* One temporary buffer kept by the device, instead of CLBlast's allocation per call on
   * its indirect path (products past its direct kernel's sizes). */
  size_t temp_bytes = 0;
  cl_mem temp = NULL;
  CLBlastStatusCode s = CLBlastSGemmTempBufferSize(CLBlastLayoutRowMajor, ta, tb, m, n, k,
                                                   a.offset, a.ld, b.offset, b.ld, c.offset,
                                                   c.ld, &queue, &temp_bytes);
  if (s == CLBlastSuccess && temp_bytes > 0) {
    fm_status st = fm_device_scratch(dev, temp_bytes, &temp);
    if (st != FM_OK) return st;
  }
  char label[64];
  snprintf(label, sizeof label, "clblast %c%c %zux%zux%zu", trans_a ? 'T' : 'N', trans_b ? 'T' : 'N',
           m, n, k);
  cl_event *event = NULL;
  fm_status st = fm_device_profile_slot(dev, label, &event);
  if (st != FM_OK) return st;
  if (s == CLBlastSuccess)
    s = CLBlastSgemmWithTempBuffer(CLBlastLayoutRowMajor, ta, tb, m, n, k, alpha, a.mem, a.offset,
                                   a.ld, b.mem, b.offset, b.ld, beta, c.mem, c.offset, c.ld,
                                   &queue, event, temp);
  if (s == CLBlastSuccess) {
    fm_device_profile_commit(dev);
    fm_device_count_library_call(dev);
  }
  if (s != CLBlastSuccess)
    return fm_fail(s == CLBlastTempBufferAllocFailure || s == CLBlastOpenCLOutOfResources
                       ? FM_ERR_NOMEM
                       : FM_ERR_CLBLAST,
                   "CLBlastSgemm(%s, %s, m=%zu, n=%zu, k=%zu) failed: %s (%d) on %s",
                   trans_a ? "A^T" : "A", trans_b ? "B^T" : "B", m, n, k, clblast_status_name(s),
                   (int)s, fm_device_get_info(dev)->name);
  return FM_OK;
}

#define FM_STR_(x) #x
#define FM_STR(x) FM_STR_(x)
const char *fm_gemm_clblast_version(void) {
  return FM_STR(CLBLAST_VERSION_MAJOR) "." FM_STR(CLBLAST_VERSION_MINOR) "." FM_STR(
      CLBLAST_VERSION_PATCH);
}
