/* OpenCL devices: discovery, selection, one context with one in-order queue, kernels
 * built from the embedded cl/ sources, and buffers whose bytes are counted. */
#ifndef FMCL_DEVICE_H
#define FMCL_DEVICE_H

#include <CL/cl.h>
#include <stddef.h>
#include <stdint.h>

#include "fmcl/constants.h"
#include "fmcl/report.h"
#include "fmcl/status.h"
#include "fmcl/types.h"

/* Which device to open, and how. Precedence: index, then name, then kind. */
typedef struct fm_device_select {
  fm_device_kind kind; /* auto: the first GPU, else the first device */
  int index;           /* position in `fmcl devices`; -1 for any */
  char name[128];      /* case-insensitive substring of the device name; "" for any */
  int nth;             /* without an index: the nth of the devices kind and name select
                          (counted from 0, wrapping around): a node's ranks take different
                          devices */
  int profiling;       /* enable OpenCL event profiling on the queue */
  char program_cache[512]; /* folder of compiled programs; "": the default; "off": none */
  size_t max_work_group;   /* treat the device as allowing at most this many work-items
                              per group (0: its own limit); tests use it */
  fm_gemm_provider gemm;   /* what device.gemm auto stands for (auto: fmcl's kernels on
                              CPUs, CLBlast elsewhere); the test suite's FMCL_GEMM */
  const fm_reporter *report; /* warnings (a program cache file rebuilt); NULL: none */
} fm_device_select;

typedef struct fm_device_info {
  int index;
  char platform[128];
  char name[256];
  char vendor[128];
  char version[128]; /* "OpenCL 3.0 ..." */
  char driver[128];
  char platform_version[128]; /* "OpenCL 3.0 PoCL 3.1 ..." */
  char type[16]; /* "GPU", "CPU", "accelerator", "other" */
  int is_gpu;
  unsigned compute_units;
  unsigned clock_mhz;
  uint64_t global_mem;
  uint64_t max_alloc;
  uint64_t local_mem;
  size_t max_work_group;
  cl_platform_id platform_id;
  cl_device_id id;
} fm_device_info;

typedef struct fm_device fm_device;

/* Every device of every platform, in the order `fmcl devices` prints them. The caller
 * frees *list with free(). No platform at all is FM_ERR_NO_DEVICE with advice. */
fm_status fm_device_list(fm_device_info **list, int *count);

fm_status fm_device_open(const fm_device_select *select, fm_device **out);
void fm_device_destroy(fm_device *dev);

const fm_device_info *fm_device_get_info(const fm_device *dev);
cl_command_queue fm_device_queue(const fm_device *dev);

/* A kernel of one of the embedded programs ("mlp", "path", ...), built on first use with
 * the program's options and cached on the device. Every program is built with the
 * largest FM_REDUCE_WG (a power of two) that its kernels' own limits allow: built once,
 * the kernels' limits read, and built again with a smaller size when a kernel needs more
 * than the driver allows it. Set every argument before each launch. */
fm_status fm_device_kernel(fm_device *dev, const char *program, const char *kernel,
                           cl_kernel *out);

/* As fm_device_kernel, from the program built with extra options appended (variants of
 * one program: the GPU products' -D tile shapes). */
fm_status fm_device_kernel_variant(fm_device *dev, const char *program, const char *options,
                                   const char *kernel, cl_kernel *out);

/* Builds a program from source text (tests and tools use this for their own kernels).
 * label names it in errors. The caller releases the program. */
fm_status fm_device_build(fm_device *dev, const char *label, const char *source,
                          const char *options, cl_program *out);

/* Enqueues a kernel. local may be NULL for the device's default 1-D size; global is
 * rounded up to a multiple of local, so kernels guard their index. */
fm_status fm_device_launch(fm_device *dev, cl_kernel kernel, cl_uint dims,
                           const size_t *global, const size_t *local);

/* As fm_device_launch, with the label the profile files the kernel's time under. */
fm_status fm_device_launch_as(fm_device *dev, const char *label, cl_kernel kernel, cl_uint dims,
                              const size_t *global, const size_t *local);

/* A device buffer of bytes; what names it in an out-of-memory message. */
fm_status fm_device_alloc(fm_device *dev, size_t bytes, const char *what, cl_mem *out);
void fm_device_release(fm_device *dev, cl_mem mem);

/* A buffer of at least bytes that the device keeps for libraries' temporary use (CLBlast's
 * indirect products): grown when too small, valid until the next call. */
fm_status fm_device_scratch(fm_device *dev, size_t bytes, cl_mem *out);

/* Blocking copies between host and device. */
fm_status fm_device_write(fm_device *dev, cl_mem mem, size_t offset, size_t bytes,
                          const void *src);
fm_status fm_device_read(fm_device *dev, cl_mem mem, size_t offset, size_t bytes, void *dst);

/* A non-blocking read: *done is set when dst holds the bytes (fm_device_wait releases it). */
fm_status fm_device_read_async(fm_device *dev, cl_mem mem, size_t offset, size_t bytes,
                               void *dst, cl_event *done);
fm_status fm_device_wait(cl_event *done);

/* Non-blocking fill of a float buffer range with value (a kernel: cl/buffer.cl). */
fm_status fm_device_fill(fm_device *dev, cl_mem mem, size_t offset_floats, size_t n_floats,
                         float value);

/* Non-blocking fill of an int buffer range with value. */
fm_status fm_device_fill_int(fm_device *dev, cl_mem mem, size_t offset_ints, size_t n_ints,
                             int value);

/* Non-blocking copy of bytes from src at src_offset to dst at dst_offset. */
fm_status fm_device_copy(fm_device *dev, cl_mem src, size_t src_offset, cl_mem dst,
                         size_t dst_offset, size_t bytes);

/* Submits what is queued without waiting (the device works while the host goes on). */
fm_status fm_device_flush(fm_device *dev);

/* Waits until everything queued has run. */
fm_status fm_device_finish(fm_device *dev);

/* The most bytes held at once in buffers allocated through fm_device_alloc. */
uint64_t fm_device_bytes_peak(const fm_device *dev);

/* Seconds spent in clBuildProgram on this device (kernel compilation or cache loads). */
double fm_device_build_seconds(const fm_device *dev);

/* The most work-items per group fmcl uses on this device: its own limit, or the
 * selection's max_work_group when that is smaller. A kernel may allow fewer
 * (fm_device_kernel_limits). */
size_t fm_device_max_work_group(const fm_device *dev);

/* The default work-group size for 1-D elementwise kernels on this device (a launch fits it
 * to the kernel's own limit). */
size_t fm_device_local_1d(const fm_device *dev);

/* What the driver allows one kernel on this device, read once when the kernel is created. */
typedef struct fm_kernel_limits {
  size_t max_items;   /* CL_KERNEL_WORK_GROUP_SIZE, within fm_device_max_work_group */
  size_t multiple;    /* CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE */
  size_t required[3]; /* its reqd_work_group_size, zeros when it has none */
  uint64_t local_mem; /* CL_KERNEL_LOCAL_MEM_SIZE before any __local argument is set */
  size_t reduce_wg;   /* FM_REDUCE_WG its program was built with (cl/reduce.cl) */
} fm_kernel_limits;

/* The limits of a kernel made by fm_device_kernel or fm_device_kernel_variant on dev. */
const fm_kernel_limits *fm_device_kernel_limits(const fm_device *dev, cl_kernel kernel);

/* The kernels with a compiled-in work-group size (whose results depend on it) of every
 * embedded program that were never launched on dev, space-separated into names ("" when
 * every one was); tests use it to show that a workload ran them all. */
fm_status fm_device_unlaunched(fm_device *dev, char *names, size_t size);

/* The fewest work-items any kernel of a program (built with variant options) allows. */
fm_status fm_device_program_limit(fm_device *dev, const char *program, const char *variant,
                                  size_t *max_items);

/* First-pass work-groups of a two-pass reduction over n items by a kernel built with
 * FM_REDUCE_WG = wg: one per wg of them, at most FM_REDUCE_GROUPS_MAX. */
size_t fm_reduce_groups(size_t wg, size_t n);

/* What device.gemm auto stands for on this device. */
fm_gemm_provider fm_device_default_gemm(const fm_device *dev);

/* Commands enqueued so far: fmcl's kernel launches and calls into CLBlast (each of which
 * may launch one or more kernels of its own). */
typedef struct fm_device_counts {
  long launches;
  long library_calls;
  int programs_from_source; /* programs compiled from source */
  int programs_from_cache;  /* programs loaded from the program cache */
} fm_device_counts;

void fm_device_get_counts(const fm_device *dev, fm_device_counts *out);

/* Counts one call into a library (CLBlast) that enqueues its own kernels. */
void fm_device_count_library_call(fm_device *dev);

/* Device time per command label, summed from OpenCL events when the device was opened with
 * profiling (kernels are labelled by function name, matrix products by provider and shape). */
typedef struct fm_profile_entry {
  char label[64];
  double seconds;
  long count;
} fm_profile_entry;

/* When profiling: *event gets an event slot for a command about to be enqueued under
 * label (NULL when not profiling). After a successful enqueue with it, call
 * fm_device_profile_commit. */
fm_status fm_device_profile_slot(fm_device *dev, const char *label, cl_event **event);
void fm_device_profile_commit(fm_device *dev);

/* Waits for the queue and adds the finished commands' times to the table. */
fm_status fm_device_profile_collect(fm_device *dev);

/* The table so far (collects first). */
fm_status fm_device_profile(fm_device *dev, const fm_profile_entry **entries, int *count);
fm_status fm_device_profile_reset(fm_device *dev);

/* Sets kernel argument i to the value of an lvalue. */
#define FM_ARG(kernel, i, value) clSetKernelArg((kernel), (i), sizeof(value), &(value))

#endif
