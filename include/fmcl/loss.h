/* The conditional flow matching loss on the device, with a running sum that the host
 * reads only when it logs. */
#ifndef FMCL_LOSS_H
#define FMCL_LOSS_H

#include <stdint.h>

#include "fmcl/device.h"

/* The running sum the host reads: the sum of step losses, their count, and the first step
 * whose loss was not finite (0 while all were). */
typedef struct fm_loss_sum {
  float sum;
  float count;
  uint32_t first_nonfinite_step;
  uint32_t unused;
} fm_loss_sum;

/* Floats of scratch fm_loss_cfm needs. */
#define FM_LOSS_SCRATCH FM_REDUCE_GROUPS_MAX

/* For L = (1 / total) sum over the batch's rows of |v_i - u_i|^2, of which these n rows
 * (v, u, dv are (n, dim)) are the share of this process (total = n for one process): dv =
 * dL/dv, and acc (one fm_loss_sum on the device) takes this share's part of L for the
 * given step. scratch holds FM_LOSS_SCRATCH floats. */
fm_status fm_loss_cfm(fm_device *dev, cl_mem v, cl_mem u, cl_mem dv, int n, int dim, int total,
                      cl_mem scratch, cl_mem acc, uint32_t step);

#endif
