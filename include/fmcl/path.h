/* Probability paths from noise (t = 0) to data (t = 1): drawing a training batch of
 * (x_t, t, u_t) on the device, from data already there. */
#ifndef FMCL_PATH_H
#define FMCL_PATH_H

#include <stdint.h>

#include "fmcl/config.h"
#include "fmcl/device.h"

typedef struct fm_path_params {
  fm_scheduler scheduler;
  float sigma_min;
} fm_path_params;

/* For rows i < n: x1 = data[j] with j uniform, t uniform on [0, 1), x0 ~ N(0, I), and
 * x_t (n, dim), t (n), u (n, dim) of the path. The numbers depend on (seed, step) only. */
fm_status fm_path_sample(fm_device *dev, const fm_path_params *path, cl_mem data, int n_data,
                         int dim, int n, uint64_t seed, uint32_t step, cl_mem x_t, cl_mem t,
                         cl_mem u);

/* The scheduler's a(t), s(t) and their derivatives: x_t = a x1 + s x0 (host reference). */
void fm_path_coefficients(const fm_path_params *path, double t, double *a, double *s,
                          double *da, double *ds);

#endif
