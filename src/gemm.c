/* Matrix products through CLBlast, with every failure named. */
#include "fmcl/gemm.h"

#include <clblast_c.h>

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

fm_status fm_gemm(fm_device *dev, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                  float alpha, fm_matrix a, fm_matrix b, float beta, fm_matrix c) {
  if (m == 0 || n == 0) return FM_OK;
  cl_command_queue queue = fm_device_queue(dev);
  CLBlastStatusCode s = CLBlastSgemm(
      CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
      trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a.mem, a.offset, a.ld,
      b.mem, b.offset, b.ld, beta, c.mem, c.offset, c.ld, &queue, NULL);
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
