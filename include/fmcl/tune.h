/* Per-device tuning of the matrix products: `fmcl tune` measures every product shape a
 * model uses with each provider (fmcl's kernels, CLBlast with its own parameters, CLBlast
 * with hand-picked Xgemm parameters), verifies each candidate against a reference, and
 * stores the winners in a tuning file keyed by device and driver. Later runs load it. */
#ifndef FMCL_TUNE_H
#define FMCL_TUNE_H

#include "fmcl/config.h"
#include "fmcl/gemm.h"
#include "fmcl/run.h"

/* The tuning file of dev: `configured` when set (device.tuning), else
 * $XDG_CACHE_HOME/fmcl/tuning/<device>-<driver>.json ($HOME/.cache when unset). */
void fm_tuning_path(const fm_device *dev, const char *configured, char *out, size_t size);

/* Reads the tuning file at path for dev into out. No file: FM_OK and an empty tuning. A
 * damaged file, or one written for another device, driver or fmcl: also FM_OK and empty,
 * with the reason in warning (so the run goes on with the defaults, never a wrong
 * result). */
fm_status fm_tuning_load(const fm_device *dev, const char *path, fm_gemm_tuning *out,
                         char *warning, size_t warning_size);
void fm_tuning_free(fm_gemm_tuning *tuning);

/* fmcl tune: measures the config's model shapes on its device, prints before/after
 * GFLOP/s per shape and the winner, and writes the tuning file. */
fm_status fm_tune(const fm_config *cfg, const fm_run_options *opt);

#endif
