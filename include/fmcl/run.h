/* Whole commands: an experiment (train, sample, evaluate, write the run folder), sampling
 * again from a checkpoint, the likelihood of points under one, and exporting a data set.
 * The command-line program is a thin layer on these. */
#ifndef FMCL_RUN_H
#define FMCL_RUN_H

#include <stddef.h>

#include "fmcl/config.h"
#include "fmcl/ranks.h"
#include "fmcl/report.h"
#include "fmcl/train_loop.h"

typedef struct fm_run_options {
  const fm_reporter *report; /* messages, progress and results; NULL: silent */
  int live;                  /* a live progress line (updated every 50 steps), else plain lines */
  int profile;               /* time every device command of a training step (profile.csv) */
  int resume;                /* continue from the run folder's model.fmck */
  int overwrite;             /* replace an earlier run or output file instead of keeping it */
  /* Set (by a signal handler) to stop: training checkpoints and returns
   * FM_ERR_INTERRUPTED; sampling, evaluation and plots stop with it too. NULL: never. */
  fm_stop_flag *stop;
  const fm_fault_hooks *hooks; /* tests only: faults at chosen points; NULL: none */
  /* The ranks of an MPI job training one model (NULL: one process): each opens its own
   * device and trains on its rows of every batch; rank 0 writes the run folder. */
  const fm_ranks *ranks;
} fm_run_options;

typedef struct fm_run_result {
  char dir[1024];
  double final_loss;
  double train_steps_per_s;
  long nfe;
} fm_run_result;

/* Trains the experiment and samples from it; writes config.json, train.csv, test.csv,
 * samples.csv, model.fmck, the plots and summary.json into the run folder (see
 * fm_rundir_claim for a folder that holds an earlier run). With opt->resume it continues
 * from the folder's checkpoint and ends with the parameters an uninterrupted run would
 * have (same device, same number of ranks). With several ranks every rank calls it: they
 * share the training batches, the samples and the held-out likelihood; rank 0 gathers the
 * samples, measures them, draws the plots and writes every file. */
fm_status fm_run_experiment(const fm_config *cfg, const fm_run_options *opt, fm_run_result *res);

/* Samples from a checkpoint with its config, changed by "key=value" overrides (sample.*,
 * seed, device.*, output.dir; others are refused). Writes a CSV to out_path (refused when
 * it exists, unless opt->overwrite), or when it is NULL to samples-<solver><steps>-n<n>.csv
 * (samples-dopri5-n<n>.csv) in output.dir or the checkpoint's folder, with -2, -3, ...
 * added when that file exists; the path used goes to written (NULL: not wanted). */
fm_status fm_run_sample(const char *checkpoint, const char *const *overrides, int n_overrides,
                        const char *out_path, const fm_run_options *opt, char *written,
                        size_t written_size);

/* The negative log-likelihood of the first eval.n points of the run's held-out split, or
 * of data_path, under a checkpoint's model (one that starts from N(0, I)). Overrides may
 * set eval.*, seed, sample.batch, data.label_column and device.*; out_path (or NULL; an
 * existing file only with opt->overwrite) gets one log-likelihood per point. The mean NLL
 * (nats, bits/dim) is reported, and the NLL alone as the result. */
fm_status fm_run_likelihood(const char *checkpoint, const char *const *overrides, int n_overrides,
                            const char *data_path, const char *out_path,
                            const fm_run_options *opt);

/* A reflow (distill 0) or a distillation (distill 1) of a checkpoint's model: its config
 * made into a reflow's by fm_reflow_config with the overrides, then trained, sampled and
 * judged as an experiment (fm_run_experiment) on the teacher's pairs. The run folder
 * (runs/<name>-reflow<k> or -distill) records the teacher in config.json and
 * summary.json. */
fm_status fm_run_reflow(const char *checkpoint, int distill, const char *const *overrides,
                        int n_overrides, const fm_run_options *opt, fm_run_result *res);

/* Writes a checkpoint's model as safetensors to out_path (refused when it exists, unless
 * opt->overwrite): the EMA weights when the run kept them, the trained ones with raw. */
fm_status fm_run_export(const char *checkpoint, const char *out_path, int raw,
                        const fm_run_options *opt);

/* Writes the experiment's data set as train.csv and test.csv into dir (one that holds a
 * train.csv only with opt->overwrite). */
fm_status fm_run_export_data(const fm_config *cfg, const char *dir, const fm_run_options *opt);

#endif
