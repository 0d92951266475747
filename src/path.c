/* Host side of the probability path: one fused kernel launch per batch. */
#include "fmcl/path.h"

#include "internal.h"

void fm_path_coefficients(const fm_path_params *path, double t, double *a, double *s, double *da,
                          double *ds) {
  switch (path->scheduler) {
  case FM_SCHED_CONDOT:
    *a = t;
    *da = 1.0;
    *s = 1.0 - (1.0 - path->sigma_min) * t;
    *ds = -(1.0 - path->sigma_min);
    return;
  }
}

fm_status fm_path_sample(fm_device *dev, const fm_path_params *path, cl_mem data, int n_data,
                         int dim, int n, uint64_t seed, uint32_t step, cl_mem x_t, cl_mem t,
                         cl_mem u) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  FM_TRY(fm_device_kernel(dev, "path", "fm_path_condot", &k));
  cl_uint nd = (cl_uint)n_data, d = (cl_uint)dim, un = (cl_uint)n, s = step;
  cl_uint2 key = {{(cl_uint)seed, (cl_uint)(seed >> 32)}};
  float sigma = path->sigma_min;
  FM_CL(FM_ARG(k, 0, data));
  FM_CL(FM_ARG(k, 1, nd));
  FM_CL(FM_ARG(k, 2, d));
  FM_CL(FM_ARG(k, 3, x_t));
  FM_CL(FM_ARG(k, 4, t));
  FM_CL(FM_ARG(k, 5, u));
  FM_CL(FM_ARG(k, 6, un));
  FM_CL(FM_ARG(k, 7, key));
  FM_CL(FM_ARG(k, 8, s));
  FM_CL(FM_ARG(k, 9, sigma));
  size_t global = (size_t)n;
  FM_TRY(fm_device_launch(dev, k, 1, &global, NULL));
fail:
  return st;
}
