/* The training step: batch and path, forward, loss, backward and Adam, all enqueued on the
 * device with no host wait. The host reads the running loss only when asked. */
#ifndef FMCL_TRAIN_H
#define FMCL_TRAIN_H

#include <stdint.h>

#include "fmcl/config.h"
#include "fmcl/data.h"
#include "fmcl/mlp.h"
#include "fmcl/optim.h"

typedef struct fm_trainer fm_trainer;

/* Copies the training points to the device and sets up the batch buffers and Adam for
 * mlp (whose capacity must be at least cfg->train.batch). */
fm_status fm_trainer_create(fm_mlp *mlp, const fm_config *cfg, const fm_points *train,
                            fm_trainer **out);
void fm_trainer_destroy(fm_trainer *tr);

/* Enqueues the next step (numbered from 1; its random numbers are keyed by it). */
fm_status fm_trainer_step(fm_trainer *tr);

/* Steps enqueued so far. */
uint64_t fm_trainer_steps(const fm_trainer *tr);

/* Sets the step count (when resuming; the optimizer's own count is restored with it). */
void fm_trainer_set_steps(fm_trainer *tr, uint64_t steps);

/* Waits for the device and returns the mean loss of the steps since the last call
 * (NaN if there were none), and how many steps that was. */
fm_status fm_trainer_take_loss(fm_trainer *tr, double *mean, int *count);

fm_optim *fm_trainer_optim(fm_trainer *tr);

#endif
