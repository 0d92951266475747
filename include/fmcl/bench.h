/* Device comparison: `fmcl bench`. */
#ifndef FMCL_BENCH_H
#define FMCL_BENCH_H

#include "fmcl/config.h"
#include "fmcl/run.h"

/* Runs the experiment on each device `devices` selects ("all", "gpu", "cpu", or indices
 * "0,2" of `fmcl devices`) for `steps` training steps and one sampling pass (10000 points,
 * rk4 with NFE 100), and prints one Markdown table: training steps/s, model GFLOP/s and its
 * share of the device's measured FMA peak, sampling points/s, program build time (first
 * and again), final loss, and the largest difference of the loss curve from the first
 * device's. The table also goes to bench.csv and bench.json in the run folder. A device
 * that fails gets the reason in its row; the others still run. */
fm_status fm_bench(const fm_config *cfg, const char *devices, int steps,
                   const fm_run_options *opt);

#endif
