/* Program builds and their binaries on disk. A cache file (little-endian): "FMCLPRG2", u64
 * key; the device name, driver version, platform version and build options, each a u32
 * length and its bytes; u64 FNV-1a hash of the source; u64 binary size, the binary; u32
 * CRC-32 of every byte before it. A binary reaches the driver only from a file whose every
 * recorded string and hash equals the program's own: some drivers abort on a binary that is
 * not theirs (Mesa's rusticl panics) instead of refusing it. */
#include "program.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fileio.h"
#include "internal.h"

static const char magic[8] = {'F', 'M', 'C', 'L', 'P', 'R', 'G', '2'};

static uint64_t fnv1a(uint64_t h, const char *text) {
  for (const char *p = text; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
  return h;
}

uint64_t fm_program_cache_key(const char *device, const char *driver, const char *platform,
                              const char *options, const char *source) {
  const char *parts[] = {device, driver, platform, options, source};
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < FM_ARRAY_LEN(parts); i++) {
    h = fnv1a(h, parts[i]);
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

/* The strings a file records, in order. */
static void recorded(const fm_program_identity *id, const char *strings[4]) {
  strings[0] = id->device, strings[1] = id->driver, strings[2] = id->platform;
  strings[3] = id->options;
}

/* Reads a u32-length string at *at of b (size bytes) and compares it with want: 0 when
 * it is there and equal. */
static int read_equal(const unsigned char *b, size_t size, size_t *at, const char *want) {
  uint32_t len = 0;
  if (size - *at < 4) return 1;
  memcpy(&len, b + *at, 4);
  *at += 4;
  if (size - *at < len) return 1;
  int differs = len != strlen(want) || memcmp(b + *at, want, len) != 0;
  *at += len;
  return differs;
}

fm_status fm_program_cache_load(const char *dir, uint64_t key, const fm_program_identity *id,
                                cl_context context, cl_device_id device, cl_program *out,
                                char *why, size_t why_size) {
  static const char *const what[] = {"device", "driver", "platform", "build options"};
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
  uint64_t file_key = 0, length = 0, source = 0;
  uint32_t crc = 0;
  const char *strings[4];
  recorded(id, strings);
  size_t at = 16;
  if (size < 8 + 8 + 16 + 8 + 8 + 4 || memcmp(b, magic, 8) != 0) {
    snprintf(why, why_size, "%s is not a program file of this fmcl", path);
  } else {
    memcpy(&crc, b + size - 4, 4);
    memcpy(&file_key, b + 8, 8);
    if (crc != fm_crc32(0, b, size - 4)) snprintf(why, why_size, "%s is damaged (checksum)", path);
    else if (file_key != key) snprintf(why, why_size, "%s was written for another program", path);
    for (int i = 0; i < 4 && !why[0]; i++)
      if (read_equal(b, size - 4, &at, strings[i]))
        snprintf(why, why_size, "%s was written for another %s", path, what[i]);
    if (!why[0] && size - 4 - at >= 16) {
      memcpy(&source, b + at, 8);
      memcpy(&length, b + at + 8, 8);
      at += 16;
      if (source != id->source_hash)
        snprintf(why, why_size, "%s was written for another program source", path);
      else if (length != size - 4 - at)
        snprintf(why, why_size, "%s is damaged (size)", path);
    } else if (!why[0]) {
      snprintf(why, why_size, "%s is damaged (size)", path);
    }
  }
  if (!why[0]) {
    const unsigned char *binary = b + at;
    size_t n = (size_t)length;
    cl_int status = CL_SUCCESS, err = CL_SUCCESS;
    cl_program program = clCreateProgramWithBinary(context, 1, &device, &n, &binary, &status, &err);
    if (err == CL_SUCCESS && status == CL_SUCCESS)
      err = clBuildProgram(program, 1, &device, id->options, NULL, NULL);
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

/* Writes bytes into f and adds them to *crc. */
static void put(FILE *f, uint32_t *crc, const void *bytes, size_t n) {
  fwrite(bytes, 1, n, f);
  *crc = fm_crc32(*crc, bytes, n);
}

fm_status fm_program_cache_store(const char *dir, uint64_t key, const fm_program_identity *id,
                                 cl_program program) {
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
  uint32_t crc = 0;
  const char *strings[4];
  recorded(id, strings);
  put(f.f, &crc, magic, 8);
  put(f.f, &crc, &key, 8);
  for (int i = 0; i < 4; i++) {
    uint32_t len = (uint32_t)strlen(strings[i]);
    put(f.f, &crc, &len, 4);
    put(f.f, &crc, strings[i], len);
  }
  put(f.f, &crc, &id->source_hash, 8);
  put(f.f, &crc, &length, 8);
  put(f.f, &crc, binary, n);
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
  fm_program_identity id = {t->device_name, t->driver, t->platform, full,
                            fnv1a(1469598103934665603ull, source)};
  uint64_t key = fm_program_cache_key(t->device_name, t->driver, t->platform, full, source);
  if (t->cache_dir[0]) {
    double t0 = now_seconds();
    fm_status st = fm_program_cache_load(t->cache_dir, key, &id, t->context, t->device, out,
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
  if (t->cache_dir[0] && fm_program_cache_store(t->cache_dir, key, &id, *out) != FM_OK) {
    fm_report(t->report, FM_REPORT_WARNING, "%s; compiled programs are not kept (set "
              "device.program_cache to a writable folder, or \"off\")", fm_error_message());
    t->cache_dir = ""; /* say it once */
    fm_error_clear();
  }
  return FM_OK;
}
