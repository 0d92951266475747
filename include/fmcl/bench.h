/* Device comparison: `fmcl bench`. */
#ifndef FMCL_BENCH_H
#define FMCL_BENCH_H

#include "fmcl/config.h"
#include "fmcl/report.h"

typedef struct fm_bench_params {
  const char *devices; /* "all", "gpu", "cpu", or indices "0,2" of `fmcl devices` */
  int steps;           /* training steps per device, at least 2 */
  int overwrite;       /* replace bench.csv and bench.json instead of writing bench-2.csv, ... */
  const fm_reporter *report;
  fm_stop_flag *stop;
  const fm_fault_hooks *hooks; /* tests only; NULL: none */
} fm_bench_params;

/* Runs the experiment on each selected device for `steps` training steps and one sampling
 * pass (10000 points, rk4 with NFE 100), and reports one Markdown table (the result):
 * training steps/s, model GFLOP/s and its share of the device's measured FMA peak,
 * sampling points/s, program build time (first and again), final loss, and the largest
 * difference of the loss curve from the first device's. The table also goes to bench.csv
 * and bench.json in the run folder. A device that fails gets the reason in its row; the
 * others still run. */
fm_status fm_bench(const fm_config *cfg, const fm_bench_params *params);

#endif
