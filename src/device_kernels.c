/* A device's programs and kernels: built on first use (or loaded from the program cache),
 * fitted to what the driver allows each kernel, and launched with a work-group the kernel
 * allows, counted and profiled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device_state.h"
#include "internal.h"
#include "kernels.h"
#include "program.h"

/* Where the device's programs are built. */
static fm_program_target target_of(fm_device *dev) {
  fm_program_target t = {.context = dev->context, .device = dev->info.id,
                         .device_name = dev->info.name, .driver = dev->info.driver,
                         .platform = dev->info.platform_version, .cache_dir = dev->cache_dir,
                         .report = dev->report};
  return t;
}

fm_status fm_device_build(fm_device *dev, const char *label, const char *source,
                          const char *options, cl_program *out) {
  fm_program_target t = target_of(dev);
  double seconds = 0;
  fm_status st = fm_program_build(&t, label, source, options ? options : "", out, &seconds);
  dev->build_seconds += seconds;
  return st;
}

/* The kernel's function name into name (for profile labels and messages). */
static fm_status kernel_name(cl_kernel kernel, char *name, size_t size) {
  fm_status st = FM_OK;
  FM_CL(clGetKernelInfo(kernel, CL_KERNEL_FUNCTION_NAME, size, name, NULL));
  name[size - 1] = '\0';
fail:
  return st;
}

/* Which setting avoids a kernel that a device cannot run, for messages. */
static const char *kernel_advice(const char *kernel) {
  if (strncmp(kernel, "fm_gpu_", 7) == 0)
    return "device.gemm=clblast or fmcl avoids fmcl's GPU products (or run fmcl tune)";
  if (strncmp(kernel, "fm_thin_", 8) == 0)
    return "device.gemm=fmcl avoids the thin-layer kernels of the GPU path";
  if (strncmp(kernel, "fm_auction", 10) == 0) return "path.ot_solver=host avoids it";
  if (strncmp(kernel, "fm_gemm", 7) == 0)
    return "device.gemm=clblast avoids fmcl's CPU products";
  return "no setting avoids it, so fmcl cannot run on this device";
}

/* What the driver allows kernel k (its work-group limit within the device's). */
static fm_status read_limits(const fm_device *dev, cl_kernel k, size_t reduce_wg,
                             fm_kernel_limits *out) {
  fm_status st = FM_OK;
  cl_device_id id = dev->info.id;
  cl_ulong local = 0;
  memset(out, 0, sizeof *out);
  FM_CL(clGetKernelWorkGroupInfo(k, id, CL_KERNEL_WORK_GROUP_SIZE, sizeof out->max_items,
                                 &out->max_items, NULL));
  FM_CL(clGetKernelWorkGroupInfo(k, id, CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE,
                                 sizeof out->multiple, &out->multiple, NULL));
  FM_CL(clGetKernelWorkGroupInfo(k, id, CL_KERNEL_COMPILE_WORK_GROUP_SIZE,
                                 sizeof out->required, out->required, NULL));
  FM_CL(clGetKernelWorkGroupInfo(k, id, CL_KERNEL_LOCAL_MEM_SIZE, sizeof local, &local, NULL));
  out->local_mem = local;
  if (out->max_items > dev->max_wg) out->max_items = dev->max_wg;
  if (out->max_items < 1) out->max_items = 1;
  out->reduce_wg = reduce_wg;
fail:
  return st;
}

static size_t required_items(const fm_kernel_limits *l) {
  return l->required[0] ? l->required[0] * l->required[1] * l->required[2] : 0;
}

/* How a built program fits the driver: *allowed, the fewest work-items any of its kernels
 * allows; *short_of, whether a kernel's compiled-in work-group is more than the driver
 * allows it. */
static fm_status program_fit(const fm_device *dev, cl_program program, size_t *allowed,
                             int *short_of) {
  fm_status st = FM_OK;
  cl_uint n = 0;
  cl_kernel *kernels = NULL;
  *allowed = dev->max_wg;
  *short_of = 0;
  FM_CL(clCreateKernelsInProgram(program, 0, NULL, &n));
  kernels = calloc(n ? n : 1, sizeof *kernels);
  if (!kernels) return fm_fail(FM_ERR_NOMEM, "out of host memory reading kernel limits");
  FM_CL(clCreateKernelsInProgram(program, n, kernels, NULL));
  for (cl_uint i = 0; i < n; i++) {
    fm_kernel_limits l;
    FM_TRY(read_limits(dev, kernels[i], 0, &l));
    if (l.max_items < *allowed) *allowed = l.max_items;
    if (required_items(&l) > l.max_items) *short_of = 1;
  }
fail:
  for (cl_uint i = 0; kernels && i < n; i++)
    if (kernels[i]) (void)clReleaseKernel(kernels[i]);
  free(kernels);
  return st;
}

/* Says what a first run spends its first seconds on: compiling programs from source, once
 * per device and driver when the cache keeps them. */
static void announce_build(fm_device *dev, const char *name, double seconds) {
  if (!dev->announced)
    fm_report(dev->report, FM_REPORT_INFO, "building the kernel programs for %s (%s)",
              dev->info.name, dev->cache_dir[0] ? "once per device and driver: the program "
              "cache keeps them" : "device.program_cache is off: every run builds them");
  dev->announced = 1;
  fm_report(dev->report, FM_REPORT_PROGRESS, "built kernel program %s (%d so far, %.1f s)",
            name, dev->counts.programs_from_source + 1, dev->build_seconds + seconds);
}

/* Builds (or loads from the cache) program name with its variant options and FM_REDUCE_WG
 * = wg. */
static fm_status build_with(fm_device *dev, const char *name, const char *variant,
                            const char *source, const char *origin, size_t wg,
                            cl_program *out) {
  char options[800];
  /* -w: a driver's compiler may print its warnings to the terminal (PoCL: "14 warnings
   * generated." for the CPU products' wide vectors), which tells a user nothing. */
  snprintf(options, sizeof options, "-w -DFM_REDUCE_WG=%zu %s %s", wg,
           fm_kernels_program_options(name), variant);
  fm_program_target t = target_of(dev);
  int from_cache = 0;
  double seconds = 0;
  fm_status st = fm_program_get(&t, origin, source, options, out, &from_cache, &seconds);
  if (st == FM_OK && !from_cache) announce_build(dev, name, seconds);
  dev->build_seconds += seconds;
  if (!t.cache_dir[0]) dev->cache_dir[0] = '\0'; /* the cache failed: not tried again */
  if (st != FM_OK) return st;
  if (from_cache) dev->counts.programs_from_cache++;
  else dev->counts.programs_from_source++;
  return FM_OK;
}

/* The program, built on first use with the largest FM_REDUCE_WG its kernels allow: a
 * driver may allow a kernel fewer items than the device's maximum (registers on a GPU,
 * vector width on llvmpipe), which is known only once the program is built. */
static fm_status get_program(fm_device *dev, const char *name, const char *variant,
                             cached_program **out) {
  for (int i = 0; i < dev->n_programs; i++)
    if (strcmp(dev->programs[i].name, name) == 0 && strcmp(dev->programs[i].variant, variant) == 0) {
      *out = &dev->programs[i];
      return FM_OK;
    }
  if (dev->n_programs == FM_MAX_PROGRAMS)
    return fm_fail(FM_ERR_INVALID, "device %s: more than %d programs in use", dev->info.name,
                   FM_MAX_PROGRAMS);
  char *source = NULL, origin[512];
  fm_status st = fm_kernels_program_source(name, &source, origin, sizeof origin);
  if (st != FM_OK) return st;
  cl_program program = NULL;
  size_t wg = dev->reduce_wg, allowed = 0, fit = 1;
  int short_of = 0;
  FM_TRY(build_with(dev, name, variant, source, origin, wg, &program));
  FM_TRY(program_fit(dev, program, &allowed, &short_of));
  while (fit * 2 <= allowed) fit *= 2;
  if (short_of && fit < wg) { /* once: a smaller group asks no more of any kernel */
    (void)clReleaseProgram(program);
    program = NULL;
    wg = fit;
    dev->reduce_wg = fit; /* the next program starts from what fits */
    FM_TRY(build_with(dev, name, variant, source, origin, wg, &program));
    FM_TRY(program_fit(dev, program, &allowed, &short_of));
  }
  cached_program *p = &dev->programs[dev->n_programs++];
  fm_strlcpy(p->name, name, sizeof p->name);
  fm_strlcpy(p->variant, variant, sizeof p->variant);
  p->program = program;
  p->reduce_wg = wg;
  p->max_items = allowed;
  *out = p;
  program = NULL;
fail:
  if (program) (void)clReleaseProgram(program);
  free(source);
  return st;
}

fm_status fm_device_kernel(fm_device *dev, const char *program, const char *kernel,
                           cl_kernel *out) {
  return fm_device_kernel_variant(dev, program, "", kernel, out);
}

/* Local memory a kernel needs beyond what the device has: an error naming the kernel. */
static fm_status check_local_mem(const fm_device *dev, const char *kernel,
                                 const fm_kernel_limits *l) {
  if (!dev->info.local_mem || l->local_mem <= dev->info.local_mem) return FM_OK;
  return fm_fail(FM_ERR_OPENCL, "kernel %s needs %llu bytes of local memory, and %s has %llu; "
                 "%s", kernel, (unsigned long long)l->local_mem, dev->info.name,
                 (unsigned long long)dev->info.local_mem, kernel_advice(kernel));
}

fm_status fm_device_kernel_variant(fm_device *dev, const char *program, const char *variant,
                                   const char *kernel, cl_kernel *out) {
  for (int i = 0; i < dev->n_kernels; i++) {
    const cached_kernel *c = &dev->kernels[i];
    if (strcmp(c->name, kernel) == 0 && strcmp(c->program, program) == 0 &&
        strcmp(c->variant, variant) == 0) {
      *out = c->kernel;
      return FM_OK;
    }
  }
  if (strlen(variant) >= FM_VARIANT_MAX)
    return fm_fail(FM_ERR_INVALID, "program %s: options '%s' are too long", program, variant);
  if (dev->n_kernels == FM_MAX_KERNELS)
    return fm_fail(FM_ERR_INVALID, "device %s: more than %d kernels in use", dev->info.name,
                   FM_MAX_KERNELS);
  cached_program *prog = NULL;
  fm_status st = get_program(dev, program, variant, &prog);
  if (st != FM_OK) return st;
  cl_int err = CL_SUCCESS;
  cl_kernel k = clCreateKernel(prog->program, kernel, &err);
  if (err != CL_SUCCESS) {
    fm_fail_cl(err, "clCreateKernel", __FILE__, __LINE__);
    return fm_fail_context(FM_ERR_OPENCL, "kernel %s in program %s: ", kernel, program);
  }
  fm_kernel_limits limits;
  st = read_limits(dev, k, prog->reduce_wg, &limits);
  if (st == FM_OK) st = check_local_mem(dev, kernel, &limits);
  if (st != FM_OK) {
    (void)clReleaseKernel(k);
    return st;
  }
  cached_kernel *c = &dev->kernels[dev->n_kernels++];
  fm_strlcpy(c->program, program, sizeof c->program);
  fm_strlcpy(c->variant, variant, sizeof c->variant);
  fm_strlcpy(c->name, kernel, sizeof c->name);
  c->kernel = k;
  c->limits = limits;
  *out = k;
  return FM_OK;
}

/* Whether a kernel of this name (of any program or variant) was launched on dev. */
static int launched(const fm_device *dev, const char *name) {
  for (int i = 0; i < dev->n_kernels; i++)
    if (dev->kernels[i].launches > 0 && strcmp(dev->kernels[i].name, name) == 0) return 1;
  return 0;
}

fm_status fm_device_unlaunched(fm_device *dev, char *names, size_t size) {
  fm_status st = FM_OK;
  cl_kernel *kernels = NULL;
  cl_uint n = 0;
  names[0] = '\0';
  for (int i = 0; i < fm_kernels_program_count(); i++) {
    cached_program *p = NULL;
    FM_TRY(get_program(dev, fm_kernels_program_name(i), "", &p));
    FM_CL(clCreateKernelsInProgram(p->program, 0, NULL, &n));
    kernels = calloc(n ? n : 1, sizeof *kernels);
    if (!kernels) return fm_fail(FM_ERR_NOMEM, "out of host memory listing kernels");
    FM_CL(clCreateKernelsInProgram(p->program, n, kernels, NULL));
    for (cl_uint k = 0; k < n; k++) {
      fm_kernel_limits l;
      char name[64];
      FM_TRY(read_limits(dev, kernels[k], 0, &l));
      FM_TRY(kernel_name(kernels[k], name, sizeof name));
      if (required_items(&l) && !launched(dev, name)) {
        size_t used = strlen(names);
        snprintf(names + used, size - used, "%s%s", used ? " " : "", name);
      }
    }
    for (cl_uint k = 0; k < n; k++) (void)clReleaseKernel(kernels[k]);
    free(kernels);
    kernels = NULL;
    n = 0;
  }
fail:
  for (cl_uint k = 0; kernels && k < n; k++)
    if (kernels[k]) (void)clReleaseKernel(kernels[k]);
  free(kernels);
  return st;
}

fm_status fm_device_program_limit(fm_device *dev, const char *program, const char *variant,
                                  size_t *max_items) {
  cached_program *p = NULL;
  *max_items = 0;
  fm_status st = get_program(dev, program, variant, &p);
  if (st == FM_OK) *max_items = p->max_items;
  return st;
}

const fm_kernel_limits *fm_device_kernel_limits(const fm_device *dev, cl_kernel kernel) {
  for (int i = 0; i < dev->n_kernels; i++)
    if (dev->kernels[i].kernel == kernel) return &dev->kernels[i].limits;
  return NULL;
}

/* Fits a work-group into what the kernel allows: a smaller one for a kernel that takes any
 * size, or an error naming the kernel, the size and the limit for one that needs its own. */
static fm_status fit_local(fm_device *dev, cl_kernel kernel, cl_uint dims, size_t *local) {
  fm_status st = FM_OK;
  fm_kernel_limits own;
  const fm_kernel_limits *l = NULL;
  for (int i = 0; i < dev->n_kernels && !l; i++)
    if (dev->kernels[i].kernel == kernel) {
      l = &dev->kernels[i].limits;
      dev->kernels[i].launches++;
    }
  if (!l) { /* a kernel of a test's or a tool's own program */
    FM_TRY(read_limits(dev, kernel, 0, &own));
    l = &own;
  }
  size_t items = 1;
  for (cl_uint d = 0; d < dims; d++) items *= local[d];
  if (items <= l->max_items) return FM_OK;
  if (l->required[0]) {
    char name[64];
    if (kernel_name(kernel, name, sizeof name) != FM_OK) fm_strlcpy(name, "?", sizeof name);
    return fm_fail(FM_ERR_OPENCL, "kernel %s needs work-groups of %zu items, and %s allows %zu "
                   "for it; %s", name, items, dev->info.name, l->max_items,
                   kernel_advice(name));
  }
  while (items > l->max_items) {
    cl_uint widest = 0;
    for (cl_uint d = 1; d < dims; d++)
      if (local[d] > local[widest]) widest = d;
    items /= local[widest];
    local[widest] = (local[widest] + 1) / 2;
    items *= local[widest];
  }
fail:
  return st;
}

fm_status fm_device_launch(fm_device *dev, cl_kernel kernel, cl_uint dims, const size_t *global,
                           const size_t *local) {
  return fm_device_launch_as(dev, NULL, kernel, dims, global, local);
}

fm_status fm_device_launch_as(fm_device *dev, const char *label, cl_kernel kernel, cl_uint dims,
                              const size_t *global, const size_t *local) {
  fm_status st = FM_OK;
  size_t rounded[3], fitted[3];
  char name[64];
  FM_ASSERT(dims >= 1 && dims <= 3);
  if (!local) FM_ASSERT(dims == 1);
  for (cl_uint d = 0; d < dims; d++) fitted[d] = local ? local[d] : fm_device_local_1d(dev);
  FM_TRY(fit_local(dev, kernel, dims, fitted));
  local = fitted;
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
  dev->counts.launches++;
fail:
  return st;
}
