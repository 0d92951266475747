/* Message formatting for reporters. */
#include "fmcl/report.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void fm_report(const fm_reporter *r, fm_report_kind kind, const char *fmt, ...) {
  if (!r || !r->emit) return;
  char text[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  size_t n = strlen(text);
  if (n > 0 && text[n - 1] == '\n') text[n - 1] = '\0';
  r->emit(r->ctx, kind, text);
}

void fm_fault_phase(const fm_fault_hooks *hooks, const char *phase) {
  if (hooks && hooks->phase) hooks->phase(hooks->ctx, phase);
}
