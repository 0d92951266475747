/* Kernel programs for the device module: built from source (a failure prints the whole
 * build log), and kept on disk as binaries, one file per device, driver, source and
 * options, so that a later run builds nothing from source on any driver. A cached file
 * that is damaged, or recorded for another device, driver, platform, source or options, is
 * reported and rebuilt from source without its binary reaching the driver; one the driver
 * refuses is rebuilt too. Internal. */
#ifndef FMCL_PROGRAM_H
#define FMCL_PROGRAM_H

#include <CL/cl.h>
#include <stddef.h>
#include <stdint.h>

#include "fmcl/report.h"
#include "fmcl/status.h"

/* Where a program is built. */
typedef struct fm_program_target {
  cl_context context;
  cl_device_id device;
  const char *device_name, *driver, *platform; /* the cache key's device */
  const char *cache_dir; /* "": no cache */
  const fm_reporter *report; /* warnings about cache files */
} fm_program_target;

/* Builds source with "-cl-std=CL1.2" and options; label names it in errors, which carry
 * the options and the whole build log. *seconds gets the time spent. */
fm_status fm_program_build(const fm_program_target *t, const char *label, const char *source,
                           const char *options, cl_program *out, double *seconds);

/* The program from the cache when it holds a usable one (*from_cache set), else built from
 * source and stored there (a store that fails is a warning, and the cache is not tried
 * again in this process). */
fm_status fm_program_get(fm_program_target *t, const char *label, const char *source,
                         const char *options, cl_program *out, int *from_cache,
                         double *seconds);

/* The key of a program: a 64-bit FNV-1a hash of every string that decides its binary. */
uint64_t fm_program_cache_key(const char *device, const char *driver, const char *platform,
                              const char *options, const char *source);

/* The folder of the cache: configured when set, else $XDG_CACHE_HOME/fmcl/programs
 * ($HOME/.cache when unset). */
void fm_program_cache_dir(const char *configured, char *out, size_t size);

/* What decides a cached binary, recorded in its file and compared before the binary
 * reaches a driver. */
typedef struct fm_program_identity {
  const char *device, *driver, *platform;
  const char *options;  /* the full build options */
  uint64_t source_hash; /* FNV-1a of the source */
} fm_program_identity;

/* The program of key from dir, built for device: *out NULL when there is no file; when
 * there is one that cannot be used (damaged, or recorded for another identity, in which
 * case no driver sees its binary; or refused by the driver), *out NULL and why says why
 * (FM_OK both times: the caller builds from source). Errors are out-of-memory only. */
fm_status fm_program_cache_load(const char *dir, uint64_t key, const fm_program_identity *id,
                                cl_context context, cl_device_id device, cl_program *out,
                                char *why, size_t why_size);

/* Writes the binary of program (built for one device) under key with its identity,
 * atomically; the folder is created. */
fm_status fm_program_cache_store(const char *dir, uint64_t key, const fm_program_identity *id,
                                 cl_program program);

#endif
