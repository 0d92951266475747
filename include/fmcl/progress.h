/* Progress of long work: one live line redrawn in place on a terminal, plain lines when the
 * output goes to a file or a pipe. */
#ifndef FMCL_PROGRESS_H
#define FMCL_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct fm_progress {
  FILE *out;
  int live;        /* redraw one line with \r */
  int quiet;       /* print nothing */
  uint64_t total;  /* steps to do */
  uint64_t first;  /* step the run started from */
  double start;    /* seconds (monotonic) when counting began */
  int line_open;   /* a live line is on screen */
  double loss;     /* the last loss reported */
} fm_progress;

/* live: -1 detects a terminal on out, 0 or 1 forces. */
void fm_progress_begin(fm_progress *p, FILE *out, int live, int quiet, uint64_t first,
                       uint64_t total);

/* Reports step with the mean loss since the last report (NaN when not read). A live
 * line is redrawn; plain output prints a line only when has_loss is set. */
void fm_progress_update(fm_progress *p, uint64_t step, double loss, int has_loss);

/* Ends the live line. */
void fm_progress_end(fm_progress *p);

/* Monotonic seconds. */
double fm_seconds(void);

/* "1:02:03" or "2:03" for a duration. */
void fm_format_duration(double seconds, char *out, size_t size);

#endif
