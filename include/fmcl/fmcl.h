/* fmcl: flow matching on OpenCL. One include for the whole public API. */
#ifndef FMCL_FMCL_H
#define FMCL_FMCL_H

#include "fmcl/bench.h"
#include "fmcl/checkpoint.h"
#include "fmcl/config.h"
#include "fmcl/data.h"
#include "fmcl/datafile.h"
#include "fmcl/device.h"
#include "fmcl/evaluate.h"
#include "fmcl/gemm.h"
#include "fmcl/likelihood.h"
#include "fmcl/loss.h"
#include "fmcl/metrics.h"
#include "fmcl/mlp.h"
#include "fmcl/optim.h"
#include "fmcl/path.h"
#include "fmcl/plot.h"
#include "fmcl/progress.h"
#include "fmcl/rng.h"
#include "fmcl/run.h"
#include "fmcl/sample.h"
#include "fmcl/solver.h"
#include "fmcl/status.h"
#include "fmcl/train.h"
#include "fmcl/tune.h"

#endif
