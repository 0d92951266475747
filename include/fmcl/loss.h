/* The conditional flow matching loss on the device, with a running sum that the host
 * reads only when it logs. */
#ifndef FMCL_LOSS_H
#define FMCL_LOSS_H

#include <stdint.h>

#include "fmcl/device.h"

/* dv = dL/dv and row_loss[i] = |v_i - u_i|^2 for L = mean_i |v_i - u_i|^2; v, u, dv are
 * (n, dim), row_loss (n). */
fm_status fm_loss_cfm(fm_device *dev, cl_mem v, cl_mem u, cl_mem dv, cl_mem row_loss, int n,
                      int dim);

/* The running sum the host reads: the sum of step losses, their count, and the first step
 * whose loss was not finite (0 while all were). */
typedef struct fm_loss_sum {
  float sum;
  float count;
  uint32_t first_nonfinite_step;
  uint32_t unused;
} fm_loss_sum;

/* acc (one fm_loss_sum on the device) takes the mean of row_loss for the given step. */
fm_status fm_loss_accumulate(fm_device *dev, cl_mem row_loss, int n, cl_mem acc, uint32_t step);

#endif
