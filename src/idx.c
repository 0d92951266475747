/* IDX files and gzip streams (through zlib), parsed from memory so that the fuzzers can
 * drive them. */
#include "fmcl/idx.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "internal.h"

#define MAX_VALUES ((size_t)1 << 31) /* floats in one data set, as for the other formats */

int fm_is_gzip(const unsigned char *data, size_t size) {
  return size >= 2 && data[0] == 0x1F && data[1] == 0x8B;
}

/* The value types: IDX's type byte, its size and name. */
static const struct {
  unsigned char code;
  int bytes;
  const char *name;
} types[] = {{0x08, 1, "unsigned byte"}, {0x09, 1, "signed byte"}, {0x0B, 2, "short"},
             {0x0C, 4, "int"},           {0x0D, 4, "float"},       {0x0E, 8, "double"}};

static int type_of(unsigned char code) {
  for (int i = 0; i < (int)FM_ARRAY_LEN(types); i++)
    if (types[i].code == code) return i;
  return -1;
}

int fm_is_idx(const unsigned char *data, size_t size) {
  return size >= 4 && data[0] == 0 && data[1] == 0 && type_of(data[2]) >= 0 && data[3] >= 1;
}

fm_status fm_gunzip(const unsigned char *data, size_t size, const char *name, size_t max_bytes,
                    unsigned char **out, size_t *out_size) {
  *out = NULL, *out_size = 0;
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) /* 16: a gzip header and trailer */
    return fm_fail(FM_ERR_NOMEM, "%s: out of memory for zlib", name);
  size_t cap = size < 4096 ? 16384 : 4 * size, n = 0;
  if (cap > max_bytes + 1) cap = max_bytes + 1;
  unsigned char *buf = NULL;
  int rc = Z_OK;
  fm_status st = FM_OK;
  const unsigned char *in = data, *in_end = data + size;
  z.next_in = (unsigned char *)in;
  while (st == FM_OK) {
    if (z.avail_in == 0 && z.next_in < in_end) { /* zlib takes at most 4 GiB at a time */
      size_t left = (size_t)(in_end - z.next_in);
      z.avail_in = (uInt)(left < UINT32_MAX ? left : UINT32_MAX);
    }
    if (n == cap && cap > max_bytes) {
      st = fm_fail(FM_ERR_FORMAT, "%s: inflates to more than %zu MiB, more than a data set "
                   "holds", name, max_bytes >> 20);
      break;
    }
    if (n == cap || !buf) {
      if (buf) cap = 2 * cap < max_bytes + 1 ? 2 * cap : max_bytes + 1;
      unsigned char *grown = realloc(buf, cap + 1);
      if (!grown) {
        st = fm_fail(FM_ERR_NOMEM, "%s: out of memory inflating it", name);
        break;
      }
      buf = grown;
    }
    z.next_out = buf + n;
    z.avail_out = (uInt)(cap - n < UINT32_MAX ? cap - n : UINT32_MAX);
    rc = inflate(&z, Z_NO_FLUSH);
    n = (size_t)(z.next_out - buf);
    if (rc == Z_STREAM_END && z.next_in < in_end &&
        fm_is_gzip(z.next_in, (size_t)(in_end - z.next_in))) {
      inflateReset(&z); /* another member follows */
      continue;
    }
    if (rc == Z_STREAM_END) break;
    int ended = z.avail_in == 0 && z.next_in == in_end;
    if (rc == Z_BUF_ERROR && ended) rc = Z_DATA_ERROR; /* the input ended early */
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      st = fm_fail(FM_ERR_FORMAT, "%s: the gzip stream is %s (%s); the file is damaged or "
                   "was not fully downloaded", name, ended ? "truncated" : "corrupt",
                   z.msg ? z.msg : "no more data");
  }
  inflateEnd(&z);
  if (st != FM_OK) {
    free(buf);
    return st;
  }
  buf[n] = '\0';
  *out = buf, *out_size = n;
  return FM_OK;
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Value i of the given type, big-endian. */
static double value_at(const unsigned char *p, int type) {
  uint64_t u = 0;
  for (int k = 0; k < types[type].bytes; k++) u = u << 8 | p[k];
  switch (types[type].code) {
  case 0x08: return (double)(uint8_t)u;
  case 0x09: return (double)(int8_t)u;
  case 0x0B: return (double)(int16_t)u;
  case 0x0C: return (double)(int32_t)u;
  case 0x0D: {
    uint32_t w = (uint32_t)u;
    float f;
    memcpy(&f, &w, 4);
    return f;
  }
  default: {
    double d;
    memcpy(&d, &u, 8);
    return d;
  }
  }
}

fm_status fm_idx_parse(const unsigned char *data, size_t size, const char *name,
                       fm_points *out) {
  memset(out, 0, sizeof *out);
  if (!fm_is_idx(data, size))
    return fm_fail(FM_ERR_FORMAT, "%s: not an IDX file: it should start with 00 00, a type "
                   "(08 to 0E) and the number of dimensions, not %02X %02X %02X %02X", name,
                   size > 0 ? data[0] : 0, size > 1 ? data[1] : 0, size > 2 ? data[2] : 0,
                   size > 3 ? data[3] : 0);
  int type = type_of(data[2]), ndim = data[3];
  size_t header = 4 + 4 * (size_t)ndim;
  if (size < header)
    return fm_fail(FM_ERR_FORMAT, "%s: truncated: %d dimensions need a %zu-byte header, the "
                   "file has %zu bytes", name, ndim, header, size);
  size_t n = be32(data + 4), per = 1;
  for (int d = 1; d < ndim; d++) {
    per *= be32(data + 4 + 4 * d);
    if (per > MAX_VALUES) break;
  }
  if (n == 0 || per == 0)
    return fm_fail(FM_ERR_FORMAT, "%s: an empty array (a dimension of 0)", name);
  if (per >= MAX_VALUES || n > (MAX_VALUES - 1) / per) /* counts fit an int */
    return fm_fail(FM_ERR_FORMAT, "%s: %zu items of %zu values is more than fmcl holds (2^31 "
                   "values)", name, n, per);
  size_t want = header + n * per * (size_t)types[type].bytes;
  if (size != want)
    return fm_fail(FM_ERR_FORMAT, "%s: its dimensions (%zu items of %zu %s values) need %zu "
                   "bytes, the file has %zu; it is %s", name, n, per, types[type].name, want,
                   size, size < want ? "truncated" : "longer than its header says");
  out->x = malloc(n * per * sizeof *out->x);
  out->label = calloc(n, sizeof *out->label);
  if (!out->x || !out->label) {
    fm_points_free(out);
    return fm_fail(FM_ERR_NOMEM, "%s: out of memory for %zu x %zu values", name, n, per);
  }
  out->n = (int)n, out->dim = (int)per;
  const unsigned char *p = data + header;
  for (size_t i = 0; i < n * per; i++, p += types[type].bytes) {
    double v = value_at(p, type);
    if (!(fabs(v) <= FLT_MAX)) {
      fm_points_free(out);
      return fm_fail(FM_ERR_FORMAT, "%s: item %zu, value %zu (from 0) is not a finite float",
                     name, i / per, i % per);
    }
    out->x[i] = (float)v;
  }
  return FM_OK;
}
