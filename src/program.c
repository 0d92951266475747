/* Program builds and their binaries on disk. A cache file (little-endian): "FMCLPRG1", u64
 * key, u64 binary size, the binary, u32 CRC-32 of every byte before it. */
#include "program.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fileio.h"
#include "internal.h"

static const char magic[8] = {'F', 'M', 'C', 'L', 'P', 'R', 'G', '1'};

uint64_t fm_program_cache_key(const char *device, const char *driver, const char *platform,
                              const char *options, const char *source) {
  const char *parts[] = {device, driver, platform, options, source};
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < FM_ARRAY_LEN(parts); i++) {
    for (const char *p = parts[i]; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h = (h ^ 0xFFu) * 1099511628211ull; /* a separator: ("ab", "c") differs from ("a", "bc") */
  }
  return h;
}

void fm_program_cache_dir(const char *configured, char *out, size_t size) {
  if (configured && configured[0]) {
    fm_strlcpy(out, configured, size);
    return;
  }
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  if (xdg && *xdg) snprintf(out, size, "%s/fmcl/programs", xdg);
  else snprintf(out, size, "%s/.cache/fmcl/programs", home && *home ? home : ".");
}

static void file_of(const char *dir, uint64_t key, char *out, size_t size) {
  snprintf(out, size, "%s/%016llx.bin", dir, (unsigned long long)key);
}

fm_status fm_program_cache_load(const char *dir, uint64_t key, cl_context context,
                                cl_device_id device, const char *options, cl_program *out,
                                char *why, size_t why_size) {
  char path[1100];
  char *data = NULL;
  size_t size = 0;
  *out = NULL;
  why[0] = '\0';
  file_of(dir, key, path, sizeof path);
  if (!fm_path_exists(path)) return FM_OK;
  fm_status st = fm_read_whole(path, "program cache file", FM_ERR_IO, SIZE_MAX, &data, &size);
  if (st == FM_ERR_NOMEM) return st;
  if (st != FM_OK) {
    snprintf(why, why_size, "%s", fm_error_message());
    fm_error_clear();
    return FM_OK;
  }
  const unsigned char *b = (const unsigned char *)data;
  uint64_t file_key = 0, length = 0;
  uint32_t crc = 0;
  if (size < 28 || memcmp(b, magic, 8) != 0) {
    snprintf(why, why_size, "%s is not an fmcl program file", path);
  } else {
    memcpy(&file_key, b + 8, 8);
    memcpy(&length, b + 16, 8);
    memcpy(&crc, b + size - 4, 4);
    if (length != size - 28 || crc != fm_crc32(0, b, size - 4))
      snprintf(why, why_size, "%s is damaged (size or checksum)", path);
    else if (file_key != key)
      snprintf(why, why_size, "%s was written for another program", path);
  }
  if (!why[0]) {
    const unsigned char *binary = b + 24;
    size_t n = (size_t)length;
    cl_int status = CL_SUCCESS, err = CL_SUCCESS;
    cl_program program = clCreateProgramWithBinary(context, 1, &device, &n, &binary, &status, &err);
    if (err == CL_SUCCESS && status == CL_SUCCESS)
      err = clBuildProgram(program, 1, &device, options, NULL, NULL);
    if (err != CL_SUCCESS || status != CL_SUCCESS) {
      snprintf(why, why_size, "the driver refused %s: %s", path,
               fm_cl_error_name(err != CL_SUCCESS ? err : status));
      if (program) (void)clReleaseProgram(program);
    } else {
      *out = program;
    }
  }
  free(data);
  return FM_OK;
}

fm_status fm_program_cache_store(const char *dir, uint64_t key, cl_program program) {
  fm_status st = FM_OK;
  unsigned char *binary = NULL;
  size_t n = 0;
  cl_uint devices = 0;
  FM_CL(clGetProgramInfo(program, CL_PROGRAM_NUM_DEVICES, sizeof devices, &devices, NULL));
  if (devices != 1) return fm_fail(FM_ERR_OPENCL, "program cache: a program of %u devices", devices);
  FM_CL(clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof n, &n, NULL));
  if (n == 0) return fm_fail(FM_ERR_OPENCL, "program cache: the driver gives no binary");
  binary = malloc(n);
  if (!binary) return fm_fail(FM_ERR_NOMEM, "program cache: out of memory");
  FM_CL(clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof binary, &binary, NULL));
  FM_TRY(fm_make_dirs(dir));
  char path[1100];
  file_of(dir, key, path, sizeof path);
  fm_file f;
  FM_TRY(fm_file_begin(&f, path, "wb"));
  uint64_t length = n;
  uint32_t crc = fm_crc32(0, magic, 8);
  crc = fm_crc32(crc, &key, 8);
  crc = fm_crc32(crc, &length, 8);
  crc = fm_crc32(crc, binary, n);
  fwrite(magic, 1, 8, f.f);
  fwrite(&key, 8, 1, f.f);
  fwrite(&length, 8, 1, f.f);
  fwrite(binary, 1, n, f.f);
  fwrite(&crc, 4, 1, f.f);
  FM_TRY(fm_file_commit(&f));
fail:
  free(binary);
  return st;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The build log of a program that failed to build (malloc'd), or NULL when the driver
 * gives none. */
static char *build_log(cl_program program, cl_device_id device) {
  size_t size = 0;
  if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) != CL_SUCCESS)
    return NULL;
  char *log = malloc(size + 1);
  if (log && clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, log, NULL) !=
                 CL_SUCCESS) {
    free(log);
    return NULL;
  }
  if (log) log[size] = '\0';
  return log;
}

fm_status fm_program_build(const fm_program_target *t, const char *label, const char *source,
                           const char *options, cl_program *out, double *seconds) {
  cl_int err = CL_SUCCESS;
  *out = NULL;
  cl_program program = clCreateProgramWithSource(t->context, 1, &source, NULL, &err);
  if (err != CL_SUCCESS) return fm_fail_cl(err, "clCreateProgramWithSource", __FILE__, __LINE__);
  char full[1024];
  snprintf(full, sizeof full, "-cl-std=CL1.2 %s", options);
  double t0 = now_seconds();
  err = clBuildProgram(program, 1, &t->device, full, NULL, NULL);
  *seconds += now_seconds() - t0;
  if (err != CL_SUCCESS) {
    char *log = build_log(program, t->device);
    fm_fail(FM_ERR_BUILD, "kernel program %s failed to build on %s: %s (%d)\noptions: %s\n"
            "build log:\n%s", label, t->device_name, fm_cl_error_name(err), err, full,
            log ? log : "(the driver gave no log)");
    free(log);
    (void)clReleaseProgram(program);
    return FM_ERR_BUILD;
  }
  *out = program;
  return FM_OK;
}

fm_status fm_program_get(fm_program_target *t, const char *label, const char *source,
                         const char *options, cl_program *out, int *from_cache,
                         double *seconds) {
  char full[1200], why[1500];
  *from_cache = 0;
  snprintf(full, sizeof full, "-cl-std=CL1.2 %s", options);
  uint64_t key = fm_program_cache_key(t->device_name, t->driver, t->platform, full, source);
  if (t->cache_dir[0]) {
    double t0 = now_seconds();
    fm_status st = fm_program_cache_load(t->cache_dir, key, t->context, t->device, full, out,
                                         why, sizeof why);
    *seconds += now_seconds() - t0;
    if (st != FM_OK) return st;
    if (*out) {
      *from_cache = 1;
      return FM_OK;
    }
    if (why[0])
      fm_report(t->report, FM_REPORT_WARNING, "%s; the program %s is built from source again",
                why, label);
  }
  fm_status st = fm_program_build(t, label, source, options, out, seconds);
  if (st != FM_OK) return st;
  if (t->cache_dir[0] && fm_program_cache_store(t->cache_dir, key, *out) != FM_OK) {
    fm_report(t->report, FM_REPORT_WARNING, "%s; compiled programs are not kept (set "
              "device.program_cache to a writable folder, or \"off\")", fm_error_message());
    t->cache_dir = ""; /* say it once */
    fm_error_clear();
  }
  return FM_OK;
}
