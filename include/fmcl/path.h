/* Probability paths from the source (t = 0, N(0, I) or a data set) to data (t = 1): the
 * scheduler (a(t), s(t)), the coupling of source and data points, the time distribution,
 * and drawing a training batch of (x_t, t, u_t) on the device from data already there. */
#ifndef FMCL_PATH_H
#define FMCL_PATH_H

#include <stdint.h>

#include "fmcl/device.h"
#include "fmcl/types.h"

typedef struct fm_path_params {
  fm_scheduler scheduler;
  float sigma_min;          /* condot */
  float beta_min, beta_max; /* vp */
  float exponent;           /* polynomial */
  fm_coupling coupling;
  fm_ot_solver ot_solver; /* ot: the device's auction or the host's solver */
  int auction_round_limit; /* the device's rounds of bidding per solve (0: its default) */
  double ot_reg; /* sinkhorn: regularisation relative to the batch's largest cost */
  float sigma; /* noise of scale sigma around the path (I-CFM); u_t does not change */
  fm_time_sampling time_sampling;
  float time_mean, time_std; /* logit_normal */
  float label_dropout;       /* chance of the null class, for conditional models */
} fm_path_params;

typedef struct fm_path fm_path;

/* Batch buffers for batches of up to batch rows of dimension dim (and, for the ot
 * coupling, an assignment workspace). */
fm_status fm_path_create(fm_device *dev, const fm_path_params *params, int batch, int dim,
                         fm_path **out);
void fm_path_destroy(fm_path *path);

/* For rows i < n: x1 = data[j] with j uniform; x0 ~ N(0, I), or source[j'] with j'
 * uniform when n_source > 0; t from the time distribution; paired independently or by an
 * exact assignment minimizing the batch's sum of |x1 - x0|^2 (ot: the device's auction, or
 * on the host with one read and one write per step); then x_t (n, dim), t (n), u (n, dim), and with labels
 * (n_data ints) the rows' classes into row_labels (n ints; -1 after label dropout). These
 * are rows row0 .. row0 + n - 1 of the step's batch (one rank's share; 0 for a whole
 * batch): the numbers depend on (seed, step, row) only, so the shares of several ranks are
 * the rows one process draws. The ot coupling pairs within the n rows. */
fm_status fm_path_sample(fm_path *path, cl_mem data, cl_mem labels, int n_data, cl_mem source,
                         int n_source, int n, int row0, uint64_t seed, uint32_t step, cl_mem x_t,
                         cl_mem t, cl_mem u, cl_mem row_labels);

/* The device's ot assignments so far (waits for them): when one failed, a warning for the
 * user goes to warning (else "") and the later steps solve on the host. */
fm_status fm_path_check_coupling(fm_path *path, char *warning, size_t size);

/* 1 while the ot assignment is solved on the device. */
int fm_path_device_coupling(const fm_path *path);

/* Seconds spent on the host solving ot assignments, and how many. */
double fm_path_coupling_seconds(const fm_path *path, long *count);

/* sinkhorn: the mean over the steps of the plans' column marginal error (L1, of 1 in
 * all; the rows are exact); -1 for another coupling or before a step. */
double fm_path_plan_error(const fm_path *path);

/* The scheduler's a(t), s(t) and their derivatives: x_t = a x1 + s x0 (host reference). */
void fm_path_coefficients(const fm_path_params *path, double t, double *a, double *s,
                          double *da, double *ds);

#endif
