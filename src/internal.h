/* Helpers shared by the library's modules and never exported: error raising and the
 * check macros that make every failure name its call, its cause and its place. */
#ifndef FMCL_INTERNAL_H
#define FMCL_INTERNAL_H

#include <stddef.h>

#include "fmcl/status.h"

#if defined(__GNUC__)
#define FM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define FM_PRINTF(f, a)
#endif

/* Records a message for status and returns status (fmcl/status.h's fm_error_raise). */
#define fm_fail fm_error_raise

/* Puts context in front of the current message: "checkpoint x.fmck: " + message. */
fm_status fm_fail_context(fm_status status, const char *fmt, ...) FM_PRINTF(2, 3);

/* Records an OpenCL failure: the call, the error's name and the source position. */
fm_status fm_fail_cl(int err, const char *call, const char *file, int line);

/* The name of an OpenCL error code ("CL_OUT_OF_RESOURCES"). */
const char *fm_cl_error_name(int err);

/* Inside a function with `fm_status st` and a `fail:` label. */
#define FM_TRY(expr)                                                                     \
  do {                                                                                   \
    st = (expr);                                                                         \
    if (st != FM_OK) goto fail;                                                          \
  } while (0)

#define FM_CL(call)                                                                      \
  do {                                                                                   \
    int cl_err_ = (int)(call);                                                           \
    if (cl_err_ != 0) {                                                                  \
      st = fm_fail_cl(cl_err_, #call, __FILE__, __LINE__);                               \
      goto fail;                                                                         \
    }                                                                                    \
  } while (0)

/* Programmer errors only, never bad input. */
#define FM_ASSERT(cond)                                                                  \
  do {                                                                                   \
    if (!(cond)) fm_assert_failed(#cond, __FILE__, __LINE__);                            \
  } while (0)
void fm_assert_failed(const char *cond, const char *file, int line);

#define FM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Copies src into dst of size n, always terminated. */
void fm_strlcpy(char *dst, const char *src, size_t n);

#endif
