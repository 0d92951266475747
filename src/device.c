/* OpenCL platform and device discovery, device selection, and the one context and queue
 * that every other module enqueues on. Kernels and buffers are owned here so their
 * compile time and bytes can be reported. */
#include "fmcl/device.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "kernels.h"

#define FM_MAX_KERNELS 64
#define FM_MAX_PROGRAMS 16

typedef struct cached_kernel {
  char program[32]; /* two programs may hold kernels of the same name */
  char name[64];
  cl_kernel kernel;
} cached_kernel;

typedef struct cached_program {
  char name[32];
  cl_program program;
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
};

static const char *install_advice =
    "install an OpenCL driver: on Debian, apt-get install pocl-opencl-icd (any CPU), "
    "nvidia-opencl-icd (NVIDIA), mesa-opencl-icd (AMD), or intel-opencl-icd (Intel); "
    "`clinfo` lists what the loader finds";

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A string property, with the spaces some drivers pad names with removed. */
static fm_status device_string(cl_device_id id, cl_device_info what, char *out, size_t size) {
  fm_status st = FM_OK;
  out[0] = '\0';
  FM_CL(clGetDeviceInfo(id, what, size, out, NULL));
  out[size - 1] = '\0';
  size_t n = strlen(out);
  while (n > 0 && isspace((unsigned char)out[n - 1])) out[--n] = '\0';
fail:
  return st;
}

static fm_status fill_info(cl_platform_id platform, cl_device_id id, int index,
                           fm_device_info *info) {
  fm_status st = FM_OK;
  memset(info, 0, sizeof *info);
  info->index = index;
  info->platform_id = platform;
  info->id = id;
  FM_CL(clGetPlatformInfo(platform, CL_PLATFORM_NAME, sizeof info->platform, info->platform, NULL));
  info->platform[sizeof info->platform - 1] = '\0';
  FM_CL(clGetPlatformInfo(platform, CL_PLATFORM_VERSION, sizeof info->platform_version,
                          info->platform_version, NULL));
  info->platform_version[sizeof info->platform_version - 1] = '\0';
  FM_TRY(device_string(id, CL_DEVICE_NAME, info->name, sizeof info->name));
  FM_TRY(device_string(id, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor));
  FM_TRY(device_string(id, CL_DEVICE_VERSION, info->version, sizeof info->version));
  FM_TRY(device_string(id, CL_DRIVER_VERSION, info->driver, sizeof info->driver));
  cl_device_type type = 0;
  FM_CL(clGetDeviceInfo(id, CL_DEVICE_TYPE, sizeof type, &type, NULL));
  info->is_gpu = (type & CL_DEVICE_TYPE_GPU) != 0;
  fm_strlcpy(info->type,
             info->is_gpu                           ? "GPU"
             : (type & CL_DEVICE_TYPE_CPU)          ? "CPU"
             : (type & CL_DEVICE_TYPE_ACCELERATOR) ? "accelerator"
                                                    : "other",
             sizeof info->type);
  cl_uint u = 0;
  FM_CL(clGetDeviceInfo(id, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof u, &u, NULL));
  info->compute_units = u;
  FM_CL(clGetDeviceInfo(id, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof u, &u, NULL));
  info->clock_mhz = u;
  cl_ulong l = 0;
  FM_CL(clGetDeviceInfo(id, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof l, &l, NULL));
  info->global_mem = l;
  FM_CL(clGetDeviceInfo(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof l, &l, NULL));
  info->max_alloc = l;
  FM_CL(clGetDeviceInfo(id, CL_DEVICE_LOCAL_MEM_SIZE, sizeof l, &l, NULL));
  info->local_mem = l;
  size_t wg = 1;
  FM_CL(clGetDeviceInfo(id, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL));
  info->max_work_group = wg;
fail:
  return st;
}

fm_status fm_device_list(fm_device_info **list, int *count) {
  fm_status st = FM_OK;
  cl_platform_id *platforms = NULL;
  cl_device_id *ids = NULL;
  fm_device_info *out = NULL;
  int n = 0;
  *list = NULL;
  *count = 0;
  cl_uint n_platforms = 0;
  cl_int err = clGetPlatformIDs(0, NULL, &n_platforms);
  if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (err == CL_SUCCESS && n_platforms == 0))
    return fm_fail(FM_ERR_NO_DEVICE, "no OpenCL platform found: %s", install_advice);
  FM_CL(err);
  platforms = calloc(n_platforms, sizeof *platforms);
  if (!platforms) return fm_fail(FM_ERR_NOMEM, "out of host memory listing devices");
  FM_CL(clGetPlatformIDs(n_platforms, platforms, NULL));
  for (cl_uint p = 0; p < n_platforms; p++) {
    cl_uint n_dev = 0;
    err = clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, NULL, &n_dev);
    if (err == CL_DEVICE_NOT_FOUND || (err == CL_SUCCESS && n_dev == 0)) continue;
    FM_CL(err);
    ids = calloc(n_dev, sizeof *ids);
    fm_device_info *grown = realloc(out, (size_t)(n + (int)n_dev) * sizeof *out);
    if (grown) out = grown;
    if (!ids || !grown) {
      st = fm_fail(FM_ERR_NOMEM, "out of host memory listing devices");
      goto fail;
    }
    FM_CL(clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, n_dev, ids, NULL));
    for (cl_uint d = 0; d < n_dev; d++, n++) FM_TRY(fill_info(platforms[p], ids[d], n, &out[n]));
    free(ids);
    ids = NULL;
  }
  if (n == 0) {
    st = fm_fail(FM_ERR_NO_DEVICE, "OpenCL platforms were found but they have no devices: %s",
                 install_advice);
    goto fail;
  }
  free(platforms);
  *list = out;
  *count = n;
  return FM_OK;
fail:
  if (st != FM_ERR_NO_DEVICE) fm_fail_context(st, "listing OpenCL devices: ");
  free(ids);
  free(out);
  free(platforms);
  return st;
}

static int contains_nocase(const char *hay, const char *needle) {
  size_t n = strlen(needle);
  for (; *hay; hay++) {
    size_t i = 0;
    while (i < n && hay[i] &&
           tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
      i++;
    if (i == n) return 1;
  }
  return n == 0;
}

static int kind_matches(const fm_device_info *d, fm_device_kind kind) {
  if (kind == FM_DEVICE_GPU) return d->is_gpu;
  if (kind == FM_DEVICE_CPU) return strcmp(d->type, "CPU") == 0;
  return 1;
}

/* "0: name (CPU), 1: ..." for error messages. */
static void describe_found(const fm_device_info *list, int count, char *out, size_t size) {
  out[0] = '\0';
  for (int i = 0; i < count; i++) {
    size_t used = strlen(out);
    snprintf(out + used, size - used, "%s%d: %s (%s, %s)", i ? "; " : "", list[i].index,
             list[i].name, list[i].type, list[i].platform);
  }
}

static int choose_device(const fm_device_info *list, int count, const fm_device_select *sel) {
  if (sel->index >= 0) return sel->index < count ? sel->index : -1;
  if (sel->name[0]) {
    for (int i = 0; i < count; i++)
      if (kind_matches(&list[i], sel->kind) && contains_nocase(list[i].name, sel->name)) return i;
    return -1;
  }
  if (sel->kind == FM_DEVICE_AUTO) {
    for (int i = 0; i < count; i++)
      if (list[i].is_gpu) return i;
    return 0;
  }
  for (int i = 0; i < count; i++)
    if (kind_matches(&list[i], sel->kind)) return i;
  return -1;
}

fm_status fm_device_open(const fm_device_select *sel, fm_device **out) {
  fm_status st = FM_OK;
  fm_device_info *list = NULL;
  int count = 0;
  fm_device *dev = NULL;
  *out = NULL;
  FM_TRY(fm_device_list(&list, &count));

  int chosen = choose_device(list, count, sel);
  if (chosen < 0) {
    char found[2048];
    describe_found(list, count, found, sizeof found);
    if (sel->index >= 0)
      st = fm_fail(FM_ERR_NO_DEVICE, "device.index %d does not exist; found %d device(s): %s",
                   sel->index, count, found);
    else if (sel->name[0])
      st = fm_fail(FM_ERR_NO_DEVICE,
                   "no %s device whose name contains '%s'; found: %s (set device.name to one of "
                   "these or leave it empty)",
                   sel->kind == FM_DEVICE_AUTO ? "OpenCL" : fm_device_kind_name(sel->kind),
                   sel->name, found);
    else
      st = fm_fail(FM_ERR_NO_DEVICE,
                   "no %s device found; found: %s. Set device.type to \"auto\" to use any "
                   "device, or %s",
                   fm_device_kind_name(sel->kind), found, install_advice);
    goto fail;
  }

  dev = calloc(1, sizeof *dev);
  if (!dev) {
    st = fm_fail(FM_ERR_NOMEM, "out of host memory opening a device");
    goto fail;
  }
  dev->info = list[chosen];
  cl_int err = CL_SUCCESS;
  cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)dev->info.platform_id,
                                   0};
  dev->context = clCreateContext(props, 1, &dev->info.id, NULL, NULL, &err);
  FM_CL(err);
  dev->queue = clCreateCommandQueue(dev->context, dev->info.id,
                                    sel->profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
  FM_CL(err);
  dev->profiling = sel->profiling;
  free(list);
  *out = dev;
  return FM_OK;

fail:
  if (dev) fm_device_destroy(dev);
  free(list);
  if (st != FM_OK && st != FM_ERR_NO_DEVICE)
    fm_fail_context(st, "opening OpenCL device: ");
  return st;
}

/* Release paths have no caller to report to, so their calls are the one place whose
 * results are not checked. */
void fm_device_destroy(fm_device *dev) {
  if (!dev) return;
  if (dev->queue) (void)clFinish(dev->queue);
  for (int i = 0; i < dev->n_pending; i++) clReleaseEvent(dev->pending[i].event);
  for (int i = 0; i < dev->n_kernels; i++) clReleaseKernel(dev->kernels[i].kernel);
  for (int i = 0; i < dev->n_programs; i++) clReleaseProgram(dev->programs[i].program);
  if (dev->queue) clReleaseCommandQueue(dev->queue);
  if (dev->context) clReleaseContext(dev->context);
  free(dev);
}

const fm_device_info *fm_device_get_info(const fm_device *dev) { return &dev->info; }
cl_command_queue fm_device_queue(const fm_device *dev) { return dev->queue; }
uint64_t fm_device_bytes_peak(const fm_device *dev) { return dev->bytes_peak; }
double fm_device_build_seconds(const fm_device *dev) { return dev->build_seconds; }

size_t fm_device_local_1d(const fm_device *dev) {
  size_t wg = dev->info.max_work_group;
  return wg >= 128 ? 128 : wg;
}

/* The build log of a program that failed to build (malloc'd), or NULL when the driver
 * gives none. */
static char *build_log(fm_device *dev, cl_program program) {
  size_t size = 0;
  if (clGetProgramBuildInfo(program, dev->info.id, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) !=
      CL_SUCCESS)
    return NULL;
  char *log = malloc(size + 1);
  if (log && clGetProgramBuildInfo(program, dev->info.id, CL_PROGRAM_BUILD_LOG, size, log, NULL) !=
                 CL_SUCCESS) {
    free(log);
    return NULL;
  }
  if (log) log[size] = '\0';
  return log;
}

fm_status fm_device_build(fm_device *dev, const char *label, const char *source,
                          const char *options, cl_program *out) {
  cl_int err = CL_SUCCESS;
  *out = NULL;
  cl_program program = clCreateProgramWithSource(dev->context, 1, &source, NULL, &err);
  if (err != CL_SUCCESS) return fm_fail_cl(err, "clCreateProgramWithSource", __FILE__, __LINE__);
  char full_options[1024];
  snprintf(full_options, sizeof full_options, "-cl-std=CL1.2 %s", options ? options : "");
  double t0 = now_seconds();
  err = clBuildProgram(program, 1, &dev->info.id, full_options, NULL, NULL);
  dev->build_seconds += now_seconds() - t0;
  if (err != CL_SUCCESS) {
    char *log = build_log(dev, program);
    fm_fail(FM_ERR_BUILD, "kernel program %s failed to build on %s: %s (%d)\noptions: %s\n"
            "build log:\n%s", label, dev->info.name, fm_cl_error_name(err), err, full_options,
            log ? log : "(the driver gave no log)");
    free(log);
    (void)clReleaseProgram(program);
    return FM_ERR_BUILD;
  }
  *out = program;
  return FM_OK;
}

static fm_status get_program(fm_device *dev, const char *name, cl_program *out) {
  for (int i = 0; i < dev->n_programs; i++)
    if (strcmp(dev->programs[i].name, name) == 0) {
      *out = dev->programs[i].program;
      return FM_OK;
    }
  FM_ASSERT(dev->n_programs < FM_MAX_PROGRAMS);
  char *source = NULL, origin[512];
  fm_status st = fm_kernels_program_source(name, &source, origin, sizeof origin);
  if (st != FM_OK) return st;
  cl_program program = NULL;
  st = fm_device_build(dev, origin, source, fm_kernels_program_options(name), &program);
  free(source);
  if (st != FM_OK) return st;
  cached_program *p = &dev->programs[dev->n_programs++];
  fm_strlcpy(p->name, name, sizeof p->name);
  p->program = program;
  *out = program;
  return FM_OK;
}

fm_status fm_device_kernel(fm_device *dev, const char *program, const char *kernel,
                           cl_kernel *out) {
  for (int i = 0; i < dev->n_kernels; i++)
    if (strcmp(dev->kernels[i].name, kernel) == 0 && strcmp(dev->kernels[i].program, program) == 0) {
      *out = dev->kernels[i].kernel;
      return FM_OK;
    }
  FM_ASSERT(dev->n_kernels < FM_MAX_KERNELS);
  cl_program prog = NULL;
  fm_status st = get_program(dev, program, &prog);
  if (st != FM_OK) return st;
  cl_int err = CL_SUCCESS;
  cl_kernel k = clCreateKernel(prog, kernel, &err);
  if (err != CL_SUCCESS) {
    fm_fail_cl(err, "clCreateKernel", __FILE__, __LINE__);
    return fm_fail_context(FM_ERR_OPENCL, "kernel %s in program %s: ", kernel, program);
  }
  cached_kernel *c = &dev->kernels[dev->n_kernels++];
  fm_strlcpy(c->program, program, sizeof c->program);
  fm_strlcpy(c->name, kernel, sizeof c->name);
  c->kernel = k;
  *out = k;
  return FM_OK;
}

fm_status fm_device_launch(fm_device *dev, cl_kernel kernel, cl_uint dims, const size_t *global,
                           const size_t *local) {
  return fm_device_launch_as(dev, NULL, kernel, dims, global, local);
}

/* The kernel's function name into name (for profile labels and messages). */
static fm_status kernel_name(cl_kernel kernel, char *name, size_t size) {
  fm_status st = FM_OK;
  FM_CL(clGetKernelInfo(kernel, CL_KERNEL_FUNCTION_NAME, size, name, NULL));
  name[size - 1] = '\0';
fail:
  return st;
}

fm_status fm_device_launch_as(fm_device *dev, const char *label, cl_kernel kernel, cl_uint dims,
                              const size_t *global, const size_t *local) {
  fm_status st = FM_OK;
  size_t rounded[3], local_1d[1];
  char name[64];
  if (!local) {
    FM_ASSERT(dims == 1);
    local_1d[0] = fm_device_local_1d(dev);
    local = local_1d;
  }
  for (cl_uint d = 0; d < dims; d++) {
    if (global[d] == 0) return FM_OK;
    rounded[d] = (global[d] + local[d] - 1) / local[d] * local[d];
  }
  cl_event *event = NULL;
  if (dev->profiling) {
    if (!label) FM_TRY(kernel_name(kernel, name, sizeof name));
    FM_TRY(fm_device_profile_slot(dev, label ? label : name, &event));
  }
  cl_int err = clEnqueueNDRangeKernel(dev->queue, kernel, dims, NULL, rounded, local, 0, NULL,
                                      event);
  if (err != CL_SUCCESS) {
    st = fm_fail_cl(err, "clEnqueueNDRangeKernel", __FILE__, __LINE__);
    if (kernel_name(kernel, name, sizeof name) != FM_OK) fm_strlcpy(name, "?", sizeof name);
    return fm_fail_context(st, "kernel %s (global %zu, local %zu): ", name, rounded[0], local[0]);
  }
  fm_device_profile_commit(dev);
fail:
  return st;
}

static void human_bytes(uint64_t bytes, char *out, size_t size) {
  if (bytes >= (1ull << 30)) snprintf(out, size, "%.2f GiB", (double)bytes / (1ull << 30));
  else snprintf(out, size, "%.1f MiB", (double)bytes / (1ull << 20));
}

fm_status fm_device_alloc(fm_device *dev, size_t bytes, const char *what, cl_mem *out) {
  cl_int err = CL_SUCCESS;
  *out = NULL;
  if (bytes == 0) bytes = 4; /* zero-sized buffers are invalid in OpenCL */
  char want[32], used[32], total[32], max_alloc[32];
  human_bytes(bytes, want, sizeof want);
  human_bytes(dev->bytes_in_use, used, sizeof used);
  human_bytes(dev->info.global_mem, total, sizeof total);
  human_bytes(dev->info.max_alloc, max_alloc, sizeof max_alloc);
  if (dev->info.max_alloc && bytes > dev->info.max_alloc)
    return fm_fail(FM_ERR_NOMEM, "buffer %s needs %s, more than the %s one buffer may hold on %s; "
                   "reduce the batch size or the model width", what, want, max_alloc,
                   dev->info.name);
  cl_mem mem = clCreateBuffer(dev->context, CL_MEM_READ_WRITE, bytes, NULL, &err);
  if (err != CL_SUCCESS)
    return fm_fail(FM_ERR_NOMEM, "cannot allocate %s for %s on %s (%s in use of %s): %s; reduce "
                   "the batch size or the model width", want, what, dev->info.name, used, total,
                   fm_cl_error_name(err));
  dev->bytes_in_use += bytes;
  if (dev->bytes_in_use > dev->bytes_peak) dev->bytes_peak = dev->bytes_in_use;
  *out = mem;
  return FM_OK;
}

void fm_device_release(fm_device *dev, cl_mem mem) {
  if (!mem) return;
  size_t size = 0;
  if (clGetMemObjectInfo(mem, CL_MEM_SIZE, sizeof size, &size, NULL) == CL_SUCCESS && dev)
    dev->bytes_in_use -= size <= dev->bytes_in_use ? size : dev->bytes_in_use;
  (void)clReleaseMemObject(mem);
}

fm_status fm_device_write(fm_device *dev, cl_mem mem, size_t offset, size_t bytes,
                          const void *src) {
  fm_status st = FM_OK;
  if (bytes == 0) return FM_OK;
  FM_CL(clEnqueueWriteBuffer(dev->queue, mem, CL_TRUE, offset, bytes, src, 0, NULL, NULL));
fail:
  return st;
}

fm_status fm_device_read(fm_device *dev, cl_mem mem, size_t offset, size_t bytes, void *dst) {
  fm_status st = FM_OK;
  if (bytes == 0) return FM_OK;
  FM_CL(clEnqueueReadBuffer(dev->queue, mem, CL_TRUE, offset, bytes, dst, 0, NULL, NULL));
fail:
  return st;
}

fm_status fm_device_fill(fm_device *dev, cl_mem mem, size_t offset_floats, size_t n_floats,
                         float value) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  if (n_floats == 0) return FM_OK;
  FM_TRY(fm_device_kernel(dev, "buffer", "fm_fill", &k));
  cl_uint off = (cl_uint)offset_floats, n = (cl_uint)n_floats;
  FM_CL(FM_ARG(k, 0, mem));
  FM_CL(FM_ARG(k, 1, off));
  FM_CL(FM_ARG(k, 2, n));
  FM_CL(FM_ARG(k, 3, value));
  FM_TRY(fm_device_launch(dev, k, 1, &n_floats, NULL));
fail:
  return st;
}

fm_status fm_device_fill_int(fm_device *dev, cl_mem mem, size_t offset_ints, size_t n_ints,
                             int value) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  if (n_ints == 0) return FM_OK;
  FM_TRY(fm_device_kernel(dev, "buffer", "fm_fill_int", &k));
  cl_uint off = (cl_uint)offset_ints, n = (cl_uint)n_ints;
  cl_int v = value;
  FM_CL(FM_ARG(k, 0, mem));
  FM_CL(FM_ARG(k, 1, off));
  FM_CL(FM_ARG(k, 2, n));
  FM_CL(FM_ARG(k, 3, v));
  FM_TRY(fm_device_launch(dev, k, 1, &n_ints, NULL));
fail:
  return st;
}

fm_status fm_device_copy(fm_device *dev, cl_mem src, size_t src_offset, cl_mem dst,
                         size_t dst_offset, size_t bytes) {
  fm_status st = FM_OK;
  if (bytes == 0) return FM_OK;
  FM_CL(clEnqueueCopyBuffer(dev->queue, src, dst, src_offset, dst_offset, bytes, 0, NULL, NULL));
fail:
  return st;
}

fm_status fm_device_flush(fm_device *dev) {
  fm_status st = FM_OK;
  FM_CL(clFlush(dev->queue));
fail:
  return st;
}

fm_status fm_device_finish(fm_device *dev) {
  fm_status st = FM_OK;
  FM_CL(clFinish(dev->queue));
fail:
  return st;
}

fm_status fm_device_profile_slot(fm_device *dev, const char *label, cl_event **event) {
  fm_status st = FM_OK;
  *event = NULL;
  if (!dev->profiling) return FM_OK;
  if (dev->n_pending == FM_MAX_PENDING) FM_TRY(fm_device_profile_collect(dev));
  pending_event *p = &dev->pending[dev->n_pending];
  p->event = NULL;
  fm_strlcpy(p->label, label, sizeof p->label);
  *event = &p->event;
fail:
  return st;
}

void fm_device_profile_commit(fm_device *dev) {
  if (dev->profiling && dev->pending[dev->n_pending].event) dev->n_pending++;
}

/* Adds one finished command's device time to its label's entry. */
static void add_profile(fm_device *dev, const char *label, double seconds) {
  int j = 0;
  while (j < dev->n_profile && strcmp(dev->profile[j].label, label) != 0) j++;
  if (j == dev->n_profile) {
    if (dev->n_profile == FM_MAX_PROFILE) return;
    memset(&dev->profile[j], 0, sizeof dev->profile[j]);
    fm_strlcpy(dev->profile[j].label, label, sizeof dev->profile[j].label);
    dev->n_profile++;
  }
  dev->profile[j].seconds += seconds;
  dev->profile[j].count++;
}

fm_status fm_device_profile_collect(fm_device *dev) {
  fm_status st = FM_OK;
  int done = 0;
  if (!dev->n_pending) return FM_OK;
  FM_CL(clFinish(dev->queue));
  for (; done < dev->n_pending; done++) {
    pending_event *p = &dev->pending[done];
    cl_ulong start = 0, end = 0;
    FM_CL(clGetEventProfilingInfo(p->event, CL_PROFILING_COMMAND_START, sizeof start, &start, NULL));
    FM_CL(clGetEventProfilingInfo(p->event, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL));
    add_profile(dev, p->label, end > start ? (double)(end - start) * 1e-9 : 0.0);
    (void)clReleaseEvent(p->event);
  }
fail:
  /* The events not added are dropped with the failure. */
  for (int i = done; i < dev->n_pending; i++) (void)clReleaseEvent(dev->pending[i].event);
  dev->n_pending = 0;
  return st;
}

fm_status fm_device_profile(fm_device *dev, const fm_profile_entry **entries, int *count) {
  fm_status st = fm_device_profile_collect(dev);
  *entries = dev->profile;
  *count = dev->n_profile;
  return st;
}

fm_status fm_device_profile_reset(fm_device *dev) {
  fm_status st = fm_device_profile_collect(dev);
  dev->n_profile = 0;
  return st;
}
