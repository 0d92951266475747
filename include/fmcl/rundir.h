/* The run folder's files: train.csv (written as training goes, read back for the loss
 * plot), samples.csv, trajectories.csv, profile.csv and summary.json. Every file but the
 * training log is written to a temporary name and renamed, so it is complete or absent. */
#ifndef FMCL_RUNDIR_H
#define FMCL_RUNDIR_H

#include <stdint.h>
#include <stdio.h>

#include "fmcl/config.h"
#include "fmcl/device.h"
#include "fmcl/evaluate.h"
#include "fmcl/report.h"
#include "fmcl/sample.h"

/* The folder a new training run writes: output.dir, or runs/<name> when it is empty. A
 * folder holding an earlier run (its config.json, model.fmck or summary.json) is never
 * replaced silently: resume continues it; overwrite removes that run's files and reuses
 * the folder; otherwise a default folder becomes the first free runs/<name>-2, -3, ...
 * (reported), and a folder that output.dir names is refused (FM_ERR_CONFIG) with what to
 * do instead. */
fm_status fm_rundir_claim(const fm_config *cfg, int resume, int overwrite,
                          const fm_reporter *report, char *dir, size_t size);

/* train.csv: step,loss,lr,steps_per_s, one row per loss read. */
typedef struct fm_train_log {
  FILE *f;
  char path[1100];
} fm_train_log;

/* Opens dir/train.csv: new, or after a resume from resume_step keeping the rows up to it
 * (later rows belong to steps that are trained again). */
fm_status fm_train_log_open(fm_train_log *log, const char *dir, uint64_t resume_step);
fm_status fm_train_log_row(fm_train_log *log, uint64_t step, double loss, double lr,
                           double steps_per_s);
void fm_train_log_close(fm_train_log *log);

/* The loss column of dir/train.csv against its step column (malloc'd arrays, n rows; n 0
 * and NULL arrays when there is no log). */
fm_status fm_train_log_read(const char *dir, double **steps, double **losses, int *n);

/* samples.csv: the points' columns (named as the data's, or x0,x1,...) and, for a
 * conditional model, the class of each point (label). */
fm_status fm_rundir_write_samples(const char *path, const fm_samples *s,
                                  const char *const *columns);

/* trajectories.csv: t,point and the columns for every saved time and point. */
fm_status fm_rundir_write_trajectories(const char *path, const fm_samples *s,
                                       const char *const *columns);

/* Commands enqueued per training step: fmcl's kernel launches, and calls into CLBlast
 * (each of which launches one or more kernels of its own). */
typedef struct fm_step_commands {
  double launches, library_calls;
} fm_step_commands;

/* The device time of the profiled training steps per command: reported as a table, with
 * the commands per step, and written to path as CSV. */
fm_status fm_rundir_write_profile(const char *path, fm_device *dev, long steps,
                                  const fm_step_commands *commands, const fm_reporter *report);

/* What summary.json records of a finished run. */
typedef struct fm_run_summary {
  const fm_config *cfg;
  fm_device *dev;
  const char *gemm;   /* the products' default provider */
  size_t parameters;  /* trainable numbers of the model */
  int dim;
  double macs_per_row; /* multiply-adds of one forward pass per row */
  double final_loss;   /* NaN when nothing was trained */
  double steps_per_s;
  int ranks;           /* processes that trained it (MPI); 1 without */
  double allreduce_s, gradient_copy_s; /* per step on rank 0: MPI, host copies */
  long ot_steps;       /* steps whose ot coupling was timed on the host (0: none) */
  const char *ot_solver; /* ot: where the last step's assignment was solved; NULL: not ot */
  double ot_seconds;
  double plan_error;   /* sinkhorn: the plans' mean column marginal error; < 0: none */
  fm_step_commands per_step; /* commands per training step */
  int n_samples;
  long nfe;
  double straightness; /* of the samples' saved states (fm_samples_straightness); < 0: none */
  fm_step_commands per_nfe;  /* commands per evaluation of the model in sampling */
  const fm_eval_report *eval;
  double setup_s, first_step_s, train_s, sample_s, total_s;
} fm_run_summary;

fm_status fm_rundir_write_summary(const char *path, const fm_run_summary *s);

#endif
