/* The one context and queue of a device that every other module enqueues on (discovery and
 * selection: src/device_list.c; programs, kernels and launches: src/device_kernels.c), and
 * buffers whose bytes are counted, so that memory and device time can be reported. */
#include "fmcl/device.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "device_list.h"
#include "device_state.h"
#include "program.h"

fm_status fm_device_open(const fm_device_select *select, fm_device **out) {
  fm_status st = FM_OK;
  fm_device_info *list = NULL;
  int count = 0;
  fm_device *dev = NULL;
  *out = NULL;
  fm_device_select chosen_sel = *select, *sel = &chosen_sel;
  FM_TRY(fm_device_apply_environment(sel));
  FM_TRY(fm_device_list(&list, &count));

  int chosen = fm_device_choose(list, count, sel);
  if (chosen < 0) {
    char found[2048];
    fm_device_describe(list, count, found, sizeof found);
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
                   fm_device_kind_name(sel->kind), found, fm_device_install_advice);
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
  dev->report = sel->report;
  dev->max_wg = dev->info.max_work_group;
  if (sel->max_work_group > 0 && sel->max_work_group < dev->max_wg) dev->max_wg = sel->max_work_group;
  dev->reduce_wg = 1;
  while (dev->reduce_wg * 2 <= dev->max_wg && dev->reduce_wg * 2 <= FM_REDUCE_WG_MAX)
    dev->reduce_wg *= 2;
  dev->gemm = sel->gemm != FM_GEMM_AUTO ? sel->gemm
              : strcmp(dev->info.type, "CPU") == 0 ? FM_GEMM_FMCL
                                                   : FM_GEMM_CLBLAST;
  if (strcmp(sel->program_cache, "off") != 0)
    fm_program_cache_dir(sel->program_cache, dev->cache_dir, sizeof dev->cache_dir);
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
  fm_device_release(dev, dev->scratch);
  if (dev->queue) clReleaseCommandQueue(dev->queue);
  if (dev->context) clReleaseContext(dev->context);
  free(dev);
}

const fm_device_info *fm_device_get_info(const fm_device *dev) { return &dev->info; }
cl_command_queue fm_device_queue(const fm_device *dev) { return dev->queue; }
uint64_t fm_device_bytes_peak(const fm_device *dev) { return dev->bytes_peak; }
double fm_device_build_seconds(const fm_device *dev) { return dev->build_seconds; }

size_t fm_device_max_work_group(const fm_device *dev) { return dev->max_wg; }

size_t fm_device_local_1d(const fm_device *dev) {
  size_t wg = dev->max_wg;
  return wg >= 128 ? 128 : wg;
}

size_t fm_reduce_groups(size_t wg, size_t n) {
  size_t g = (n + wg - 1) / wg;
  return g < 1 ? 1 : g > FM_REDUCE_GROUPS_MAX ? FM_REDUCE_GROUPS_MAX : g;
}

fm_gemm_provider fm_device_default_gemm(const fm_device *dev) { return dev->gemm; }

void fm_device_get_counts(const fm_device *dev, fm_device_counts *out) { *out = dev->counts; }

void fm_device_count_library_call(fm_device *dev) { dev->counts.library_calls++; }


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

fm_status fm_device_scratch(fm_device *dev, size_t bytes, cl_mem *out) {
  if (bytes > dev->scratch_bytes) {
    /* Commands already enqueued keep the old buffer alive until they finish. */
    fm_device_release(dev, dev->scratch);
    dev->scratch = NULL;
    dev->scratch_bytes = 0;
    fm_status st = fm_device_alloc(dev, bytes, "CLBlast's temporary buffer", &dev->scratch);
    if (st != FM_OK) return st;
    dev->scratch_bytes = bytes;
  }
  *out = dev->scratch;
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

fm_status fm_device_read_async(fm_device *dev, cl_mem mem, size_t offset, size_t bytes,
                               void *dst, cl_event *done) {
  fm_status st = FM_OK;
  *done = NULL;
  FM_CL(clEnqueueReadBuffer(dev->queue, mem, CL_FALSE, offset, bytes, dst, 0, NULL, done));
fail:
  return st;
}

fm_status fm_device_wait(cl_event *done) {
  fm_status st = FM_OK;
  if (!*done) return FM_OK;
  FM_CL(clWaitForEvents(1, done));
fail:
  clReleaseEvent(*done);
  *done = NULL;
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
