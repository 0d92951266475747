/* The training step: batch and path, forward, loss, backward and Adam, all enqueued on the
 * device with no host wait. The host reads the running loss only when asked. */
#ifndef FMCL_TRAIN_H
#define FMCL_TRAIN_H

#include <stdint.h>

#include "fmcl/config.h"
#include "fmcl/data.h"
#include "fmcl/mlp.h"
#include "fmcl/optim.h"
#include "fmcl/path.h"
#include "fmcl/ranks.h"

typedef struct fm_trainer fm_trainer;

/* Copies the training points (and the source points, or NULL for N(0, I)) to the device
 * and sets up the path, the batch buffers and Adam for mlp. With ranks (NULL: one
 * process), cfg->train.batch is the global batch: this rank takes its rows of it
 * (fm_ranks_share; mlp's capacity must hold them), and each step sums the gradient over
 * the ranks, so every rank takes the same Adam step as one process would. */
fm_status fm_trainer_create(fm_mlp *mlp, const fm_config *cfg, const fm_points *train,
                            const fm_points *source, const fm_ranks *ranks, fm_trainer **out);
void fm_trainer_destroy(fm_trainer *tr);

/* Enqueues the next step (numbered from 1; its random numbers are keyed by it). With
 * several ranks it waits for the gradient, sums it over the ranks and passes on whether any
 * rank's stop flag was set (fm_trainer_stop_agreed). */
fm_status fm_trainer_step(fm_trainer *tr);

/* The stop flag the ranks agree on at each step (NULL: never). */
void fm_trainer_set_stop(fm_trainer *tr, fm_stop_flag *stop);

/* Whether any rank's stop flag was set at the last step, so that all ranks stop at the
 * same step; one rank: whether the flag is set now. */
int fm_trainer_stop_agreed(const fm_trainer *tr);

/* Seconds per step spent summing the gradient over the ranks, after the backward pass:
 * in MPI (which includes waiting for the slowest rank), and copying it to the host and
 * back; 0 for one rank. */
void fm_trainer_allreduce_seconds(const fm_trainer *tr, double *mpi, double *transfers);

/* This rank's rows of the global batch, and the job they belong to. */
int fm_trainer_rows(const fm_trainer *tr);
const fm_ranks *fm_trainer_ranks(const fm_trainer *tr);

/* Steps enqueued so far. */
/* Commands per step over the steps taken in this process: fmcl's kernel launches and
 * calls into CLBlast (each may launch kernels of its own); 0 before the first step. */
void fm_trainer_commands(const fm_trainer *trainer, double *launches, double *library_calls);

uint64_t fm_trainer_steps(const fm_trainer *tr);

/* What the steps since the last report did to the loss. */
typedef struct fm_loss_report {
  double mean;                   /* mean loss of those steps (NaN when there were none) */
  int steps;                     /* how many steps */
  uint64_t first_nonfinite_step; /* first step whose loss was NaN or infinite; 0: none */
} fm_loss_report;

/* Waits for the device and reports the loss of the steps since the last take, then starts
 * a new sum. */
fm_status fm_trainer_take_loss(fm_trainer *tr, fm_loss_report *report);

/* The same report without starting a new sum (to check a model before saving it). */
fm_status fm_trainer_peek_loss(fm_trainer *tr, fm_loss_report *report);

/* Restores the state a checkpoint holds: the step count, Adam's moments and count
 * (optim_state is 2 x the flat size) and the EMA weights (or NULL). The model's parameters
 * are restored on the model. */
fm_status fm_trainer_restore(fm_trainer *tr, uint64_t step, const float *optim_state,
                             uint64_t optim_steps, const float *ema);

/* Puts the EMA of the weights into the model, for sampling and evaluation after training
 * (nothing happens without an EMA). */
fm_status fm_trainer_use_ema(fm_trainer *tr);

fm_optim *fm_trainer_optim(fm_trainer *tr);
fm_path *fm_trainer_path(fm_trainer *tr);

/* The learning rate of the last step (of step 1 before any). */
double fm_trainer_lr(const fm_trainer *tr);

#endif
