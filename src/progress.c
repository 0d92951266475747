/* Progress lines: step, loss, steps/s and the time left. */
#include "fmcl/progress.h"

#include <math.h>
#include <time.h>
#include <unistd.h>

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

void fm_progress_begin(fm_progress *p, FILE *out, int live, int quiet, uint64_t first,
                       uint64_t total) {
  p->out = out;
  p->live = live < 0 ? isatty(fileno(out)) : live;
  p->quiet = quiet;
  p->total = total;
  p->first = first;
  p->start = fm_seconds();
  p->line_open = 0;
  p->loss = NAN;
}

void fm_progress_update(fm_progress *p, uint64_t step, double loss, int has_loss) {
  if (p->quiet || (!p->live && !has_loss)) return;
  if (has_loss) p->loss = loss;
  double elapsed = fm_seconds() - p->start;
  double done = (double)(step - p->first);
  double rate = elapsed > 0 && done > 0 ? done / elapsed : NAN;
  char eta[32];
  fm_format_duration(rate > 0 ? (double)(p->total - step) / rate : NAN, eta, sizeof eta);
  int width = snprintf(NULL, 0, "%llu", (unsigned long long)p->total);
  fprintf(p->out, "%sstep %*llu/%llu  loss %.4f  %.1f steps/s  eta %s%s", p->live ? "\r" : "",
          width, (unsigned long long)step, (unsigned long long)p->total, p->loss, rate, eta,
          p->live ? "\033[K" : "\n");
  fflush(p->out);
  p->line_open = p->live;
}

void fm_progress_end(fm_progress *p) {
  if (p->line_open) fputc('\n', p->out);
  p->line_open = 0;
  fflush(p->out);
}
