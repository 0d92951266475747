/* `fmcl tune`: measures every product shape a model uses with each provider (fmcl's
 * kernels, CLBlast with its own parameters, CLBlast with hand-picked Xgemm parameters),
 * verifies each candidate against a reference, and stores the winners in the device's
 * tuning file (fmcl/tuning.h), which later runs load. */
#ifndef FMCL_TUNE_H
#define FMCL_TUNE_H

#include "fmcl/config.h"
#include "fmcl/report.h"

/* Measures the config's model shapes on its device, reports GFLOP/s per shape and the
 * winner as a table (the result), and writes the tuning file. A stop request ends it with
 * FM_ERR_INTERRUPTED before anything is written. */
fm_status fm_tune(const fm_config *cfg, const fm_reporter *report, fm_stop_flag *stop);

#endif
