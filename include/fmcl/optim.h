/* Adam / AdamW over a flat parameter buffer. The state (first and second moments) is one
 * flat device buffer of 2 n floats: m, then v. */
#ifndef FMCL_OPTIM_H
#define FMCL_OPTIM_H

#include <stdint.h>

#include "fmcl/device.h"

typedef struct fm_adam_params {
  double lr, beta1, beta2, eps;
  double weight_decay; /* decoupled (AdamW) */
} fm_adam_params;

typedef struct fm_optim fm_optim;

fm_status fm_optim_create(fm_device *dev, size_t n, const fm_adam_params *params, fm_optim **out);
void fm_optim_destroy(fm_optim *opt);

/* Enqueues one update of params from grads at learning rate lr; no host wait. */
fm_status fm_optim_step(fm_optim *opt, cl_mem params, cl_mem grads, double lr);

/* Updates taken so far (the t of the bias corrections). */
uint64_t fm_optim_steps(const fm_optim *opt);

/* The state for checkpoints: host copies of m and v (2 n floats) and the step count. */
fm_status fm_optim_read_state(fm_optim *opt, float *host);
fm_status fm_optim_write_state(fm_optim *opt, const float *host, uint64_t steps);
size_t fm_optim_size(const fm_optim *opt);

#endif
