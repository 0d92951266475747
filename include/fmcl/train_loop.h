/* A whole training run around the step: resume from the run folder's checkpoint, the
 * loss log (train.csv) and progress, checkpoints every train.checkpoint_every steps and at
 * the end, a clean stop on request, and a stop naming the step when the loss diverges. */
#ifndef FMCL_TRAIN_LOOP_H
#define FMCL_TRAIN_LOOP_H

#include <stdint.h>

#include "fmcl/config.h"
#include "fmcl/mlp.h"
#include "fmcl/report.h"
#include "fmcl/train.h"

/* With several ranks (the trainer's), every rank runs the loop; rank 0 writes train.csv,
 * the checkpoints and the progress. */
typedef struct fm_train_loop_params {
  const fm_config *cfg;       /* train.*, and the config the checkpoints record */
  const char *dir;            /* the run folder: model.fmck and train.csv */
  fm_trainer *trainer;
  fm_mlp *mlp;
  const double *mean, *std;   /* the data's standardization, saved with the model, or NULL */
  const char *const *columns; /* the data's column names, saved with the model, or NULL */
  int resume;                 /* continue from dir/model.fmck */
  int live;                   /* progress on every 50th step (a live line), not only at loss reads */
  int profile;                /* time the steps after the first with OpenCL events */
  const fm_reporter *report;
  fm_stop_flag *stop;         /* checked after every step (any rank's stops them all):
                                 checkpoint, then FM_ERR_INTERRUPTED */
  const fm_fault_hooks *hooks; /* tests only; NULL: none */
} fm_train_loop_params;

typedef struct fm_train_loop_result {
  uint64_t first_step;  /* the first step this run trained (after a resume, not 1) */
  long steps_timed;     /* steps after the first (which compiles kernels) */
  double first_step_s, train_s;
  double final_loss;    /* mean loss of the last log window; NaN when no step ran */
} fm_train_loop_result;

/* Trains up to train.steps, ending with a checkpoint. On a stop request: a checkpoint of
 * the steps so far, then FM_ERR_INTERRUPTED. A non-finite loss: FM_ERR_NUMERIC naming the
 * step and the last good checkpoint (none is written from a model with a non-finite loss).
 * With resume, the run ends with the parameters an uninterrupted run has (same device). */
fm_status fm_train_loop_run(const fm_train_loop_params *p, fm_train_loop_result *out);

/* The checkpoint of the model and, with a trainer, its Adam state, EMA and step. */
fm_status fm_train_loop_save(const char *path, const fm_config *cfg, fm_mlp *mlp, fm_trainer *tr,
                             const double *mean, const double *std,
                             const char *const *columns);

#endif
