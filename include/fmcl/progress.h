/* Progress of long work as messages: step, loss, steps/s and the time left, as a line that
 * replaces the previous one (live, on a terminal) or as plain lines at each loss read. */
#ifndef FMCL_PROGRESS_H
#define FMCL_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "fmcl/report.h"

typedef struct fm_progress {
  const fm_reporter *report;
  int live;       /* every update is a FM_REPORT_PROGRESS line; else loss reads are INFO */
  uint64_t total; /* steps to do */
  uint64_t first; /* step the run started from */
  double start;   /* seconds (monotonic) when counting began */
  double loss;    /* the last loss reported */
  int has_loss;   /* a loss was reported */
} fm_progress;

void fm_progress_begin(fm_progress *p, const fm_reporter *report, int live, uint64_t first,
                       uint64_t total);

/* Reports step, with the mean loss since the last report when has_loss is set. A live
 * display shows every update; plain lines only those with a loss. The loss is shown once
 * one is known. */
void fm_progress_update(fm_progress *p, uint64_t step, double loss, int has_loss);

/* Progress of a batched solve (sampling, the likelihood), for a solver's watch tick:
 * "what: 8192 of 10000 points done, t = 0.42" as a progress line, twice a second at most. */
typedef struct fm_solve_progress {
  const fm_reporter *report;
  const char *what;
  int done, total; /* points finished before the batch in the solver, and all of them */
  double last;     /* when the last line was reported */
} fm_solve_progress;

void fm_solve_progress_tick(void *ctx, double t);

/* Monotonic seconds. */
double fm_seconds(void);

/* "1:02:03" or "2:03" for a duration. */
void fm_format_duration(double seconds, char *out, size_t size);

#endif
