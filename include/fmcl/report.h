/* How long work talks with whoever called it: messages out (what it is doing, warnings,
 * progress, results) through the caller's reporter, and a stop request in. The library
 * never prints; the program decides where each kind of message goes. */
#ifndef FMCL_REPORT_H
#define FMCL_REPORT_H

#include <signal.h>
#include <stdint.h>

#include "fmcl/status.h"

typedef enum fm_report_kind {
  FM_REPORT_INFO,     /* what the work did or found */
  FM_REPORT_WARNING,  /* something the user should know; the work goes on */
  FM_REPORT_PROGRESS, /* a progress line that replaces the previous one on a terminal */
  FM_REPORT_RESULT    /* the command's result (a table, a number) */
} fm_report_kind;

/* emit gets one message, without a final newline (it may hold several lines). */
typedef struct fm_reporter {
  void (*emit)(void *ctx, fm_report_kind kind, const char *text);
  void *ctx;
} fm_reporter;

#if defined(__GNUC__)
#define FM_REPORT_PRINTF __attribute__((format(printf, 3, 4)))
#else
#define FM_REPORT_PRINTF
#endif

/* Formats a message and hands it to r (NULL, or one without emit: nothing happens). A
 * final newline in fmt is dropped. */
void fm_report(const fm_reporter *r, fm_report_kind kind, const char *fmt, ...) FM_REPORT_PRINTF;

/* A stop request: set by the caller (a signal handler) while long work runs, which then
 * returns FM_ERR_INTERRUPTED within a second or two, having written no partial file.
 * NULL means never. */
typedef const volatile sig_atomic_t fm_stop_flag;

static inline int fm_stop_requested(fm_stop_flag *stop) { return stop && *stop; }

/* The tests' stand-ins for a crash, a signal, a diverging model or a failing device at a
 * chosen point of a command. Every hook may be NULL. */
struct fm_mlp;
typedef struct fm_fault_hooks {
  /* After training step `step` is enqueued. */
  fm_status (*after_step)(void *ctx, struct fm_mlp *mlp, uint64_t step);
  /* When a phase of a run begins: "sample", "likelihood", "metrics", "plots". */
  void (*phase)(void *ctx, const char *phase);
  /* fmcl bench, once device `index` has built its programs; an error fails the device. */
  fm_status (*device_ready)(void *ctx, int index);
  void *ctx;
} fm_fault_hooks;

/* Tells the hooks (NULL: none) that a phase begins. */
void fm_fault_phase(const fm_fault_hooks *hooks, const char *phase);

#endif
