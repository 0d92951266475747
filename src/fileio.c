/* Atomic file replacement, whole-file reading, folder creation and the CRC-32 of the
 * file formats. */
#include "fileio.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include <unistd.h>

#include "internal.h"

fm_status fm_file_begin(fm_file *file, const char *path, const char *mode) {
  memset(file, 0, sizeof *file);
  fm_strlcpy(file->path, path, sizeof file->path);
  snprintf(file->tmp, sizeof file->tmp, "%s.tmp", path);
  file->f = fopen(file->tmp, mode);
  if (!file->f)
    return fm_fail(FM_ERR_IO, "%s: cannot create: %s; check that the folder exists and is "
                   "writable", file->tmp, strerror(errno));
  return FM_OK;
}

fm_status fm_file_commit(fm_file *file) {
  if (!file->f) return fm_fail(FM_ERR_IO, "%s: not open", file->path);
  int failed = ferror(file->f) || fflush(file->f) != 0;
  int err = errno;
  if (!failed && fsync(fileno(file->f)) != 0) failed = 1, err = errno;
  if (fclose(file->f) != 0 && !failed) failed = 1, err = errno;
  file->f = NULL;
  if (!failed && rename(file->tmp, file->path) != 0) failed = 1, err = errno;
  if (failed) {
    remove(file->tmp);
    return fm_fail(FM_ERR_IO, "%s: write failed: %s (is the disk full?); the previous file, if "
                   "any, is unchanged", file->path, strerror(err ? err : EIO));
  }
  return FM_OK;
}

void fm_file_abort(fm_file *file) {
  if (file->f) fclose(file->f);
  file->f = NULL;
  if (file->tmp[0]) remove(file->tmp);
}

fm_status fm_write_text(const char *path, const char *text) {
  fm_file f;
  fm_status st = fm_file_begin(&f, path, "w");
  if (st != FM_OK) return st;
  fputs(text, f.f);
  fputc('\n', f.f);
  return fm_file_commit(&f);
}

fm_status fm_write_json(const char *path, const cJSON *json) {
  char *text = cJSON_Print(json);
  if (!text) return fm_fail(FM_ERR_NOMEM, "%s: out of memory formatting JSON", path);
  fm_status st = fm_write_text(path, text);
  free(text);
  return st;
}

fm_status fm_read_whole(const char *path, const char *what, fm_status fail_as, size_t max_bytes,
                        char **data, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return fm_fail(fail_as, "%s %s: cannot open: %s", what, path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap + 1);
  while (buf) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap || n > max_bytes) break;
    char *grown = realloc(buf, 2 * cap + 1);
    if (!grown) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = grown;
    cap *= 2;
  }
  int bad = ferror(f), err = errno;
  fclose(f);
  if (!buf) return fm_fail(FM_ERR_NOMEM, "%s %s: out of memory reading it", what, path);
  if (bad) {
    free(buf);
    return fm_fail(fail_as, "%s %s: read failed: %s", what, path, strerror(err));
  }
  if (n > max_bytes) {
    free(buf);
    return fm_fail(fail_as, "%s %s: larger than %zu MiB; is it the right file?", what, path,
                   max_bytes >> 20);
  }
  buf[n] = '\0';
  *data = buf;
  *size = n;
  return FM_OK;
}

int fm_path_exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0;
}

fm_status fm_output_file(const char *path, int named, int overwrite, const char *option,
                         char *out, size_t size) {
  if (!fm_path_exists(path) || overwrite) {
    fm_strlcpy(out, path, size);
    return FM_OK;
  }
  if (named)
    return fm_fail(FM_ERR_CONFIG, "%s exists; pass --overwrite to replace it, or another %s",
                   path, option);
  const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
  if (!dot || (slash && dot < slash)) dot = path + strlen(path);
  for (int v = 2; v < 10000; v++) {
    snprintf(out, size, "%.*s-%d%s", (int)(dot - path), path, v, dot);
    if (!fm_path_exists(out)) return FM_OK;
  }
  return fm_fail(FM_ERR_IO, "%s: 10000 versions of it exist already", path);
}

fm_status fm_make_dirs(const char *path) {
  char buf[1024];
  fm_strlcpy(buf, path, sizeof buf);
  size_t n = strlen(buf);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char saved = buf[i];
    buf[i] = '\0';
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
      return fm_fail(FM_ERR_IO, "cannot create folder %s: %s", buf, strerror(errno));
    buf[i] = saved;
  }
  struct stat sb;
  if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return fm_fail(FM_ERR_IO, "%s exists but is not a folder", path);
  return FM_OK;
}

uint32_t fm_crc32(uint32_t crc, const void *data, size_t n) {
  return (uint32_t)crc32_z(crc, data, n);
}

float fm_half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023;
  if (e == 0) { /* zero or subnormal: m 2^-24 */
    float f = (float)m * 5.9604644775390625e-8f;
    return sign ? -f : f;
  }
  uint32_t exponent = e == 31 ? 255u : e + 112, u = sign | exponent << 23 | m << 13;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
