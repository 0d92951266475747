/* Pieces of the runner that the benchmark shares: opening the configured device, the
 * experiment's data, and messages that respect --quiet. */
#ifndef FMCL_RUN_INTERNAL_H
#define FMCL_RUN_INTERNAL_H

#include "fmcl/data.h"
#include "fmcl/gemm.h"
#include "fmcl/run.h"
#include "internal.h"

fm_status fm_run_open_device(const fm_config *cfg, int profiling, fm_device **dev);

/* The training and held-out points in data units (a toy set or a split data file). */
fm_status fm_run_load_data(const fm_config *cfg, fm_points *train, fm_points *test);

void fm_run_say(const fm_run_options *opt, const char *fmt, ...) FM_PRINTF(2, 3);

/* The device's tuning when device.gemm is auto (empty otherwise, or without a file), with
 * its CLBlast parameters applied; a damaged or foreign file is reported and ignored. */
fm_status fm_run_tuning(const fm_run_options *opt, const fm_config *cfg, fm_device *dev,
                        fm_gemm_tuning *tuning);

#endif
