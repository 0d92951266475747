/* Host side of the loss kernels in cl/loss.cl. */
#include "fmcl/loss.h"

#include "internal.h"

#define REDUCE_WG 64 /* FM_REDUCE_WG in cl/loss.cl */

fm_status fm_loss_cfm(fm_device *dev, cl_mem v, cl_mem u, cl_mem dv, cl_mem row_loss, int n,
                      int dim) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  FM_TRY(fm_device_kernel(dev, "loss", "fm_cfm_loss", &k));
  cl_uint un = (cl_uint)n, ud = (cl_uint)dim;
  float scale = 2.0f / (float)n;
  FM_CL(FM_ARG(k, 0, v));
  FM_CL(FM_ARG(k, 1, u));
  FM_CL(FM_ARG(k, 2, dv));
  FM_CL(FM_ARG(k, 3, row_loss));
  FM_CL(FM_ARG(k, 4, un));
  FM_CL(FM_ARG(k, 5, ud));
  FM_CL(FM_ARG(k, 6, scale));
  size_t global = (size_t)n;
  FM_TRY(fm_device_launch(dev, k, 1, &global, NULL));
fail:
  return st;
}

fm_status fm_loss_accumulate(fm_device *dev, cl_mem row_loss, int n, cl_mem acc, uint32_t step) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  if (fm_device_get_info(dev)->max_work_group < REDUCE_WG)
    return fm_fail(FM_ERR_OPENCL, "device %s allows work-groups of %zu items; the loss "
                   "reduction needs %d", fm_device_get_info(dev)->name,
                   fm_device_get_info(dev)->max_work_group, REDUCE_WG);
  FM_TRY(fm_device_kernel(dev, "loss", "fm_accumulate_mean", &k));
  cl_uint un = (cl_uint)n, us = step;
  FM_CL(FM_ARG(k, 0, row_loss));
  FM_CL(FM_ARG(k, 1, un));
  FM_CL(FM_ARG(k, 2, acc));
  FM_CL(FM_ARG(k, 3, us));
  size_t global = REDUCE_WG, local = REDUCE_WG;
  FM_TRY(fm_device_launch(dev, k, 1, &global, &local));
fail:
  return st;
}
