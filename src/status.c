/* Status names and the per-thread message of the last error. */
#include <CL/cl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define FM_MESSAGE_MAX 4096
static _Thread_local char last_message[FM_MESSAGE_MAX];

const char *fm_status_str(fm_status status) {
  switch (status) {
  case FM_OK: return "ok";
  case FM_ERR_INVALID: return "invalid value";
  case FM_ERR_CONFIG: return "config error";
  case FM_ERR_IO: return "i/o error";
  case FM_ERR_FORMAT: return "bad file format";
  case FM_ERR_NO_DEVICE: return "no OpenCL device";
  case FM_ERR_OPENCL: return "OpenCL error";
  case FM_ERR_CLBLAST: return "CLBlast error";
  case FM_ERR_BUILD: return "kernel build failed";
  case FM_ERR_NOMEM: return "out of memory";
  case FM_ERR_NUMERIC: return "numerical failure";
  case FM_ERR_INTERRUPTED: return "interrupted";
  }
  return "unknown status";
}

const char *fm_error_message(void) { return last_message; }

void fm_error_clear(void) { last_message[0] = '\0'; }

void fm_error_prepend(const char *text) { fm_fail_context(FM_OK, "%s", text); }

fm_status fm_error_raise(fm_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_message, sizeof last_message, fmt, ap);
  va_end(ap);
  return status;
}

fm_status fm_fail_context(fm_status status, const char *fmt, ...) {
  char prefix[1024], old[FM_MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, last_message, sizeof old);
  size_t n = strlen(prefix);
  if (n >= sizeof last_message) n = sizeof last_message - 1;
  memcpy(last_message, prefix, n);
  fm_strlcpy(last_message + n, old, sizeof last_message - n);
  return status;
}

fm_status fm_fail_cl(int err, const char *call, const char *file, int line) {
  fm_status st = FM_ERR_OPENCL;
  if (err == CL_OUT_OF_RESOURCES || err == CL_MEM_OBJECT_ALLOCATION_FAILURE ||
      err == CL_OUT_OF_HOST_MEMORY)
    st = FM_ERR_NOMEM;
  return fm_fail(st, "%s failed: %s (%d) at %s:%d", call, fm_cl_error_name(err), err, file,
                 line);
}

void fm_assert_failed(const char *cond, const char *file, int line) {
  fprintf(stderr, "fmcl: internal error: %s failed at %s:%d\n", cond, file, line);
  abort();
}

void fm_strlcpy(char *dst, const char *src, size_t n) {
  if (n == 0) return;
  size_t len = strlen(src);
  if (len >= n) len = n - 1;
  memcpy(dst, src, len);
  dst[len] = '\0';
}

const char *fm_cl_error_name(int err) {
  switch (err) {
#define NAME(c) case c: return #c
  NAME(CL_SUCCESS);
  NAME(CL_DEVICE_NOT_FOUND);
  NAME(CL_DEVICE_NOT_AVAILABLE);
  NAME(CL_COMPILER_NOT_AVAILABLE);
  NAME(CL_MEM_OBJECT_ALLOCATION_FAILURE);
  NAME(CL_OUT_OF_RESOURCES);
  NAME(CL_OUT_OF_HOST_MEMORY);
  NAME(CL_PROFILING_INFO_NOT_AVAILABLE);
  NAME(CL_MEM_COPY_OVERLAP);
  NAME(CL_IMAGE_FORMAT_MISMATCH);
  NAME(CL_IMAGE_FORMAT_NOT_SUPPORTED);
  NAME(CL_BUILD_PROGRAM_FAILURE);
  NAME(CL_MAP_FAILURE);
  NAME(CL_MISALIGNED_SUB_BUFFER_OFFSET);
  NAME(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
  NAME(CL_COMPILE_PROGRAM_FAILURE);
  NAME(CL_LINKER_NOT_AVAILABLE);
  NAME(CL_LINK_PROGRAM_FAILURE);
  NAME(CL_DEVICE_PARTITION_FAILED);
  NAME(CL_KERNEL_ARG_INFO_NOT_AVAILABLE);
  NAME(CL_INVALID_VALUE);
  NAME(CL_INVALID_DEVICE_TYPE);
  NAME(CL_INVALID_PLATFORM);
  NAME(CL_INVALID_DEVICE);
  NAME(CL_INVALID_CONTEXT);
  NAME(CL_INVALID_QUEUE_PROPERTIES);
  NAME(CL_INVALID_COMMAND_QUEUE);
  NAME(CL_INVALID_HOST_PTR);
  NAME(CL_INVALID_MEM_OBJECT);
  NAME(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR);
  NAME(CL_INVALID_IMAGE_SIZE);
  NAME(CL_INVALID_SAMPLER);
  NAME(CL_INVALID_BINARY);
  NAME(CL_INVALID_BUILD_OPTIONS);
  NAME(CL_INVALID_PROGRAM);
  NAME(CL_INVALID_PROGRAM_EXECUTABLE);
  NAME(CL_INVALID_KERNEL_NAME);
  NAME(CL_INVALID_KERNEL_DEFINITION);
  NAME(CL_INVALID_KERNEL);
  NAME(CL_INVALID_ARG_INDEX);
  NAME(CL_INVALID_ARG_VALUE);
  NAME(CL_INVALID_ARG_SIZE);
  NAME(CL_INVALID_KERNEL_ARGS);
  NAME(CL_INVALID_WORK_DIMENSION);
  NAME(CL_INVALID_WORK_GROUP_SIZE);
  NAME(CL_INVALID_WORK_ITEM_SIZE);
  NAME(CL_INVALID_GLOBAL_OFFSET);
  NAME(CL_INVALID_EVENT_WAIT_LIST);
  NAME(CL_INVALID_EVENT);
  NAME(CL_INVALID_OPERATION);
  NAME(CL_INVALID_GL_OBJECT);
  NAME(CL_INVALID_BUFFER_SIZE);
  NAME(CL_INVALID_MIP_LEVEL);
  NAME(CL_INVALID_GLOBAL_WORK_SIZE);
  NAME(CL_INVALID_PROPERTY);
  NAME(CL_INVALID_IMAGE_DESCRIPTOR);
  NAME(CL_INVALID_COMPILER_OPTIONS);
  NAME(CL_INVALID_LINKER_OPTIONS);
  NAME(CL_INVALID_DEVICE_PARTITION_COUNT);
  case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
#undef NAME
  }
  return "unknown OpenCL error";
}
