/* OpenCL platform and device discovery (what `fmcl devices` lists) and the choice of one
 * device from a selection and the environment. */
#include "device_list.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *const fm_device_install_advice =
    "install an OpenCL driver: on Debian, apt-get install pocl-opencl-icd (any CPU), "
    "nvidia-opencl-icd (NVIDIA), mesa-opencl-icd (AMD), or intel-opencl-icd (Intel); "
    "`clinfo` lists what the loader finds";

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
    return fm_fail(FM_ERR_NO_DEVICE, "no OpenCL platform found: %s", fm_device_install_advice);
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
                 fm_device_install_advice);
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
void fm_device_describe(const fm_device_info *list, int count, char *out, size_t size) {
  out[0] = '\0';
  for (int i = 0; i < count; i++) {
    size_t used = strlen(out);
    snprintf(out + used, size - used, "%s%d: %s (%s, %s)", i ? "; " : "", list[i].index,
             list[i].name, list[i].type, list[i].platform);
  }
}

/* Whether list[i] is one the selection (without an index) names: the kind and name when
 * they are given; for auto, a GPU when there is one. */
static int selected(const fm_device_info *list, int count, int i, const fm_device_select *sel) {
  if (!kind_matches(&list[i], sel->kind)) return 0;
  if (sel->name[0]) return contains_nocase(list[i].name, sel->name);
  if (sel->kind != FM_DEVICE_AUTO) return 1;
  int any_gpu = 0;
  for (int j = 0; j < count; j++) any_gpu |= list[j].is_gpu;
  return !any_gpu || list[i].is_gpu;
}

int fm_device_choose(const fm_device_info *list, int count, const fm_device_select *sel) {
  if (sel->index >= 0) return sel->index < count ? sel->index : -1;
  int matches = 0;
  for (int i = 0; i < count; i++) matches += selected(list, count, i, sel);
  if (matches == 0) return -1;
  int want = sel->nth % matches;
  for (int i = 0; i < count; i++)
    if (selected(list, count, i, sel) && want-- == 0) return i;
  return -1;
}

/* The environment's defaults for what a selection leaves open: FMCL_DEVICE (an index, when
 * the selection names no device) and FMCL_GEMM (what device.gemm auto stands for), so a
 * whole test suite or tool run can be pointed at one device and provider. */
fm_status fm_device_apply_environment(fm_device_select *sel) {
  const char *index = getenv("FMCL_DEVICE"), *gemm = getenv("FMCL_GEMM");
  if (index && *index && sel->index < 0 && !sel->name[0] && sel->kind == FM_DEVICE_AUTO) {
    char *end = NULL;
    long v = strtol(index, &end, 10);
    if (*end || v < 0 || v > 1024)
      return fm_fail(FM_ERR_CONFIG, "FMCL_DEVICE=%s: expected a device index (fmcl devices "
                     "lists them)", index);
    sel->index = (int)v;
  }
  if (gemm && *gemm && sel->gemm == FM_GEMM_AUTO) {
    int found = 0;
    for (int i = 1; fm_gemm_provider_names[i]; i++)
      if (strcmp(fm_gemm_provider_names[i], gemm) == 0) sel->gemm = (fm_gemm_provider)i, found = 1;
    if (!found)
      return fm_fail(FM_ERR_CONFIG, "FMCL_GEMM=%s: expected clblast, fmcl or fmcl-gpu (or unset "
                     "it)", gemm);
  }
  return FM_OK;
}

