/* The conditional flow matching loss on the device, with a running sum that the host
 * reads only when it logs. */
#ifndef FMCL_LOSS_H
#define FMCL_LOSS_H

#include "fmcl/device.h"

/* dv = dL/dv and row_loss[i] = |v_i - u_i|^2 for L = mean_i |v_i - u_i|^2; v, u, dv are
 * (n, dim), row_loss (n). */
fm_status fm_loss_cfm(fm_device *dev, cl_mem v, cl_mem u, cl_mem dv, cl_mem row_loss, int n,
                      int dim);

/* acc[0] += mean(row_loss), acc[1] += 1: acc is 2 floats on the device. */
fm_status fm_loss_accumulate(fm_device *dev, cl_mem row_loss, int n, cl_mem acc);

#endif
