/* Progress lines: step, loss, steps/s and the time left. */
#include "fmcl/progress.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

double fm_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void fm_format_duration(double seconds, char *out, size_t size) {
  if (!isfinite(seconds) || seconds < 0) {
    snprintf(out, size, "?");
    return;
  }
  long s = (long)(seconds + 0.5);
  if (s >= 3600) snprintf(out, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else snprintf(out, size, "%ld:%02ld", s / 60, s % 60);
}

void fm_solve_progress_tick(void *ctx, double t) {
  fm_solve_progress *p = ctx;
  double now = fm_seconds();
  if (!p->report || now - p->last < 0.5) return;
  p->last = now;
  fm_report(p->report, FM_REPORT_PROGRESS, "%s: %d of %d points done, t = %.3f", p->what, p->done,
            p->total, t);
}

void fm_progress_begin(fm_progress *p, const fm_reporter *report, int live, uint64_t first,
                       uint64_t total) {
  p->report = report;
  p->live = live;
  p->total = total;
  p->first = first;
  p->start = fm_seconds();
  p->loss = NAN;
  p->has_loss = 0;
}

void fm_progress_update(fm_progress *p, uint64_t step, double loss, int has_loss) {
  if (!p->live && !has_loss) return;
  if (has_loss) p->loss = loss, p->has_loss = 1;
  double elapsed = fm_seconds() - p->start;
  double done = (double)(step - p->first);
  double rate = elapsed > 0 && done > 0 ? done / elapsed : NAN;
  char eta[32], loss_text[40] = "";
  fm_format_duration(rate > 0 ? (double)(p->total - step) / rate : NAN, eta, sizeof eta);
  if (p->has_loss) snprintf(loss_text, sizeof loss_text, "  loss %.4f", p->loss);
  int width = snprintf(NULL, 0, "%llu", (unsigned long long)p->total);
  fm_report(p->report, p->live ? FM_REPORT_PROGRESS : FM_REPORT_INFO,
            "step %*llu/%llu%s  %.1f steps/s  eta %s", width, (unsigned long long)step,
            (unsigned long long)p->total, loss_text, rate, eta);
}
