/* Host side of the loss kernels in cl/loss.cl. */
#include "fmcl/loss.h"

#include "internal.h"

fm_status fm_loss_cfm(fm_device *dev, cl_mem v, cl_mem u, cl_mem dv, int n, int dim, int total,
                      cl_mem scratch, cl_mem acc, uint32_t step) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  FM_TRY(fm_device_kernel(dev, "loss", "fm_cfm_loss", &k));
  size_t wg = fm_device_kernel_limits(dev, k)->reduce_wg, groups = fm_reduce_groups(wg, (size_t)n);
  size_t global = groups * wg;
  cl_uint un = (cl_uint)n, ud = (cl_uint)dim, ug = (cl_uint)groups, us = step;
  float scale = 2.0f / (float)total, ftotal = (float)total;
  FM_CL(FM_ARG(k, 0, v));
  FM_CL(FM_ARG(k, 1, u));
  FM_CL(FM_ARG(k, 2, dv));
  FM_CL(FM_ARG(k, 3, scratch));
  FM_CL(FM_ARG(k, 4, un));
  FM_CL(FM_ARG(k, 5, ud));
  FM_CL(FM_ARG(k, 6, scale));
  FM_TRY(fm_device_launch(dev, k, 1, &global, &wg));
  FM_TRY(fm_device_kernel(dev, "loss", "fm_accumulate_mean", &k));
  FM_CL(FM_ARG(k, 0, scratch));
  FM_CL(FM_ARG(k, 1, ug));
  FM_CL(FM_ARG(k, 2, ftotal));
  FM_CL(FM_ARG(k, 3, acc));
  FM_CL(FM_ARG(k, 4, us));
  FM_TRY(fm_device_launch(dev, k, 1, &wg, &wg));
fail:
  return st;
}
