/* Tuning files: what `fmcl tune` measured for one device and driver (the provider of each
 * product shape, CLBlast parameters), read by every later run on that device. A file for
 * another device or driver, or a damaged one, is ignored with a warning, never trusted. */
#ifndef FMCL_TUNING_H
#define FMCL_TUNING_H

#include <stddef.h>

#include "fmcl/device.h"
#include "fmcl/gemm.h"
#include "fmcl/report.h"

/* The tuning file of dev: `configured` when set (device.tuning), else
 * $XDG_CACHE_HOME/fmcl/tuning/<device>-<driver>.json ($HOME/.cache when unset). */
void fm_tuning_path(const fm_device *dev, const char *configured, char *out, size_t size);

/* Reads the tuning file at path for dev into out. No file: FM_OK and an empty tuning. A
 * damaged or unreadable file, or one written for another device, driver or fmcl: also
 * FM_OK and empty, with the reason reported as a warning (the run goes on with the
 * defaults, never a wrong result). Other failures (out of memory) are errors. fmcl's GPU
 * tiles are fitted to what the driver allows their kernels (fm_gpu_tile_fit). */
fm_status fm_tuning_load(fm_device *dev, const char *path, fm_gemm_tuning *out,
                         const fm_reporter *report);
void fm_tuning_free(fm_gemm_tuning *tuning);

/* One measured product of a tuning file: the winner, and GFLOP/s of each candidate (0 for
 * one that was not a candidate or failed its check). */
typedef struct fm_tuning_entry {
  fm_gemm_choice choice;
  double fmcl_gflops, gpu_gflops, clblast_gflops, clblast_tuned_gflops;
} fm_tuning_entry;

/* Writes a tuning file for dev (its folder is created): the entries and the CLBlast
 * parameters of Xgemm and XgemmDirect (sets of none: CLBlast's own). */
fm_status fm_tuning_save(const char *path, const fm_device *dev, const fm_tuning_entry *entries,
                         int n_entries, const fm_clblast_params *xgemm,
                         const fm_clblast_params *xgemm_direct);

#endif
