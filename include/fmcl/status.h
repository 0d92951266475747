/* Status codes returned by every fallible fmcl function, and the message of the last
 * error. Only the command-line program decides to exit; the library reports. */
#ifndef FMCL_STATUS_H
#define FMCL_STATUS_H

typedef enum fm_status {
  FM_OK = 0,
  FM_ERR_INVALID,     /* a bad argument or value (a programmer's or a user's) */
  FM_ERR_CONFIG,      /* the experiment config is broken */
  FM_ERR_IO,          /* a file could not be read or written */
  FM_ERR_FORMAT,      /* a file is damaged, truncated or foreign */
  FM_ERR_NO_DEVICE,   /* no OpenCL platform or no matching device */
  FM_ERR_OPENCL,      /* an OpenCL call failed */
  FM_ERR_CLBLAST,     /* a CLBlast call failed */
  FM_ERR_BUILD,       /* a kernel did not compile */
  FM_ERR_NOMEM,       /* host or device memory ran out */
  FM_ERR_NUMERIC,     /* a loss or gradient became NaN or infinite */
  FM_ERR_INTERRUPTED  /* stopped by a signal after saving what was done */
} fm_status;

/* A short name for a status ("config error"). */
const char *fm_status_str(fm_status status);

/* The full message of the last error raised on this thread, with its context and what
 * to do about it; "" when there was none. Every function that returns an error sets it,
 * so the message belongs to the call that failed even when it had no object yet. */
const char *fm_error_message(void);

/* Forget the last error. */
void fm_error_clear(void);

/* Records the message of a failure and returns status: for the callbacks the library
 * calls (velocity fields, hooks) to fail with a message of their own. */
fm_status fm_error_raise(fm_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Puts text in front of the last error's message (context a caller knows, e.g. a file). */
void fm_error_prepend(const char *text);

#endif
