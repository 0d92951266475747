/* Adam / AdamW over a flat parameter buffer, with gradient clipping by the global norm, an
 * exponential moving average (EMA) of the weights, and learning-rate schedules. The state
 * (first and second moments) is one flat device buffer of 2 n floats: m, then v. */
#ifndef FMCL_OPTIM_H
#define FMCL_OPTIM_H

#include <stdint.h>

#include "fmcl/device.h"
#include "fmcl/types.h"

typedef struct fm_adam_params {
  double lr, beta1, beta2, eps;
  double weight_decay; /* decoupled (AdamW) */
  double clip;         /* largest global gradient norm; 0: no clipping */
  double ema;          /* EMA decay of the weights; 0: no EMA. Update t (from 0) uses
                          min(ema, (1 + t) / (10 + t)), a warm-up */
} fm_adam_params;

/* Linear warm-up from 0 over `warmup` steps, then constant, or a cosine from lr down to
 * lr_min at step `steps`. */
typedef struct fm_lr_schedule {
  fm_lr_shape shape;
  double lr, lr_min;
  long warmup, steps;
} fm_lr_schedule;

/* The learning rate of step (1-based). */
double fm_lr_at(const fm_lr_schedule *schedule, uint64_t step);

typedef struct fm_optim fm_optim;

fm_status fm_optim_create(fm_device *dev, size_t n, const fm_adam_params *params, fm_optim **out);
void fm_optim_destroy(fm_optim *opt);

/* Enqueues one update of params from grads at learning rate lr (with clipping and the EMA
 * update when set); no host wait. */
fm_status fm_optim_step(fm_optim *opt, cl_mem params, cl_mem grads, double lr);

/* The EMA weights (n floats), or NULL without an EMA. fm_optim_reset_ema copies params in
 * (the EMA starts at the initial weights). */
cl_mem fm_optim_ema(const fm_optim *opt);
fm_status fm_optim_reset_ema(fm_optim *opt, cl_mem params);

/* Updates taken so far (the t of the bias corrections). */
uint64_t fm_optim_steps(const fm_optim *opt);

/* The state for checkpoints: host copies of m and v (2 n floats) and the step count. */
fm_status fm_optim_read_state(fm_optim *opt, float *host);
fm_status fm_optim_write_state(fm_optim *opt, const float *host, uint64_t steps);
size_t fm_optim_size(const fm_optim *opt);

#endif
