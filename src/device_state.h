/* The state of an open device, shared by the device module's files (device.c,
 * device_kernels.c). Internal. */
#ifndef FMCL_DEVICE_STATE_H
#define FMCL_DEVICE_STATE_H

#include "fmcl/device.h"

#define FM_MAX_KERNELS 256
#define FM_MAX_PROGRAMS 48
#define FM_VARIANT_MAX 160 /* a program variant's extra options */

typedef struct cached_kernel {
  char program[32]; /* two programs may hold kernels of the same name */
  char variant[FM_VARIANT_MAX];
  char name[64];
  cl_kernel kernel;
  fm_kernel_limits limits;
  long launches;
} cached_kernel;

typedef struct cached_program {
  char name[32];
  char variant[FM_VARIANT_MAX];
  cl_program program;
  size_t reduce_wg; /* the FM_REDUCE_WG it was built with */
  size_t max_items; /* the fewest work-items any of its kernels allows */
} cached_program;

#define FM_MAX_PENDING 4096
#define FM_MAX_PROFILE 128

typedef struct pending_event {
  cl_event event;
  char label[64];
} pending_event;

struct fm_device {
  fm_device_info info;
  int profiling; /* record an event per command and sum device time by label */
  pending_event pending[FM_MAX_PENDING];
  fm_profile_entry profile[FM_MAX_PROFILE];
  int n_pending, n_profile;
  cl_context context;
  cl_command_queue queue;
  cached_program programs[FM_MAX_PROGRAMS];
  int n_programs;
  cached_kernel kernels[FM_MAX_KERNELS];
  int n_kernels;
  uint64_t bytes_in_use, bytes_peak;
  double build_seconds;
  size_t max_wg;    /* the work-group limit used: the device's, or the selection's cap */
  size_t reduce_wg; /* FM_REDUCE_WG a program is first built with: the largest power of two
                       up to FM_REDUCE_WG_MAX within max_wg, lowered when a program's
                       kernels turned out to allow less */
  fm_gemm_provider gemm; /* what device.gemm auto stands for */
  char cache_dir[1024];  /* the program cache, or "" for none */
  int announced;         /* the first build from source was reported */
  const fm_reporter *report;
  fm_device_counts counts;
  cl_mem scratch; /* libraries' temporary buffer (fm_device_scratch) */
  size_t scratch_bytes;
};

#endif
