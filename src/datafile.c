/* CSV (through libcsv), NPY and NPZ readers. They parse from memory so that the fuzzers can
 * drive them; the whole file is read first, then validated value by value. */
#include "fmcl/datafile.h"

#include <csv.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "fmcl/idx.h"
#include "internal.h"

#define MAX_VALUES ((size_t)1 << 31) /* floats in one data set */

static fm_status alloc_points(const char *name, size_t n, size_t dim, fm_points *out) {
  if (n == 0) return fm_fail(FM_ERR_FORMAT, "data file %s: no data rows", name);
  if (dim == 0) return fm_fail(FM_ERR_FORMAT, "data file %s: rows have no columns", name);
  if (n > MAX_VALUES / dim)
    return fm_fail(FM_ERR_FORMAT, "data file %s: %zu rows of %zu values is more than fmcl "
                   "holds (2^31 values)", name, n, dim);
  out->x = malloc(n * dim * sizeof *out->x);
  out->label = calloc(n, sizeof *out->label);
  if (!out->x || !out->label) {
    fm_points_free(out);
    return fm_fail(FM_ERR_NOMEM, "data file %s: out of memory for %zu x %zu values", name, n, dim);
  }
  out->n = (int)n;
  out->dim = (int)dim;
  return FM_OK;
}

/* ---- CSV: RFC 4180 through libcsv ---------------------------------------------------- */

/* Parses field [b, e) as a finite float. Returns 0 and fills why when it is not one. */
static int parse_value(const char *b, const char *e, float *value, char *why, size_t why_size) {
  while (b < e && isspace((unsigned char)*b)) b++;
  while (e > b && isspace((unsigned char)e[-1])) e--;
  char text[64];
  size_t n = (size_t)(e - b);
  if (n == 0) {
    snprintf(why, why_size, "an empty value");
    return 0;
  }
  if (n >= sizeof text) {
    snprintf(why, why_size, "a value of %zu characters", n);
    return 0;
  }
  memcpy(text, b, n);
  text[n] = '\0';
  for (size_t i = 0; i < n; i++)
    if (!isprint((unsigned char)text[i])) text[i] = '?';
  char *end = NULL;
  errno = 0;
  double v = strtod(text, &end);
  if (end != text + n) {
    snprintf(why, why_size, "\"%s\", not a number", text);
    return 0;
  }
  if (!isfinite(v) || fabs(v) > 3.4e38) {
    snprintf(why, why_size, "\"%s\", not a finite float", text);
    return 0;
  }
  *value = (float)v;
  return 1;
}

/* What the parser's callbacks build: the first row's fields kept as text until it is known
 * to be a header (no field is a number) or data, then the values row by row. The file is
 * fed a line at a time, so `line` is the line a field or row ends on. */
typedef struct csv_reader {
  const char *name;
  size_t line, rows, dim, col;
  char **first; /* the first row's fields, then the header's names (or freed) */
  size_t n_first, cap_first;
  int header;
  float *x;
  size_t n_x, cap_x;
  fm_status st; /* the first fault */
} csv_reader;

static int grow(void **p, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return 1;
  size_t cap2 = *cap ? 2 * *cap : 64;
  while (cap2 < need) cap2 *= 2;
  void *q = realloc(*p, cap2 * size);
  if (!q) return 0;
  *p = q, *cap = cap2;
  return 1;
}

static void csv_value(csv_reader *r, const char *b, size_t len, size_t col) {
  char why[128];
  if (r->n_x >= MAX_VALUES) {
    r->st = fm_fail(FM_ERR_FORMAT, "data file %s: more values than fmcl holds (2^31)", r->name);
  } else if (!grow((void **)&r->x, &r->cap_x, r->n_x + 1, sizeof *r->x)) {
    r->st = fm_fail(FM_ERR_NOMEM, "data file %s: out of memory at line %zu", r->name, r->line);
  } else if (!parse_value(b, b + len, &r->x[r->n_x++], why, sizeof why)) {
    r->st = fm_fail(FM_ERR_FORMAT, "data file %s: line %zu, column %zu (from 0): %s", r->name,
                    r->line, col, why);
  }
}

static void csv_field(void *field, size_t len, void *ctx) {
  csv_reader *r = ctx;
  if (r->st != FM_OK) return;
  if (r->rows == 0 && !r->header) {
    char *copy = strndup(field, len);
    if (!copy || !grow((void **)&r->first, &r->cap_first, r->n_first + 1, sizeof *r->first)) {
      free(copy);
      r->st = fm_fail(FM_ERR_NOMEM, "data file %s: out of memory for the first row", r->name);
      return;
    }
    r->first[r->n_first++] = copy;
  } else {
    csv_value(r, field, len, r->col);
  }
  r->col++;
}

static void csv_row(int terminator, void *ctx) {
  (void)terminator;
  csv_reader *r = ctx;
  if (r->st != FM_OK) return;
  if (r->rows == 0 && !r->header) { /* the first row: a header, or data */
    float v;
    char why[128];
    int numbers = 0;
    for (size_t i = 0; i < r->n_first; i++)
      numbers += parse_value(r->first[i], r->first[i] + strlen(r->first[i]), &v, why, sizeof why);
    r->dim = r->n_first;
    r->col = 0;
    if (numbers == 0) {
      r->header = 1;
      return;
    }
    for (size_t i = 0; i < r->n_first && r->st == FM_OK; i++)
      csv_value(r, r->first[i], strlen(r->first[i]), i);
  } else if (r->col != r->dim) {
    r->st = fm_fail(FM_ERR_FORMAT, "data file %s: line %zu has %zu columns, expected %zu (as "
                    "%s); every row needs the same number of values", r->name, r->line, r->col,
                    r->dim, r->header ? "the header" : "the first row");
    return;
  }
  r->rows++;
  r->col = 0;
}

/* A line that carries no data outside a quoted field: blank, or a comment from '#'. */
static int skipped(const char *b, const char *e) {
  while (b < e && (*b == ' ' || *b == '\t' || *b == '\r' || *b == '\n')) b++;
  return b == e || *b == '#';
}

/* R's write.csv writes the row names first, in a column with an empty name: 1, 2, 3, ...
 * They are not data. */
static void drop_row_names(fm_points *p) {
  if (p->dim < 2 || p->names[0][0]) return;
  for (int i = 0; i < p->n; i++)
    if (p->x[(size_t)i * p->dim] != (float)(i + 1)) return;
  size_t dim = (size_t)p->dim;
  for (size_t i = 0; i < (size_t)p->n; i++)
    memmove(p->x + i * (dim - 1), p->x + i * dim + 1, (dim - 1) * sizeof *p->x);
  free(p->names[0]);
  memmove(p->names, p->names + 1, (dim - 1) * sizeof *p->names);
  p->dim--;
}

static fm_status parse_csv(const unsigned char *data, size_t size, const char *name,
                           fm_points *out) {
  if (memchr(data, '\0', size))
    return fm_fail(FM_ERR_FORMAT, "data file %s: contains NUL bytes; it is not a CSV text file "
                   "(NPY files start with \\x93NUMPY)", name);
  const char *at = (const char *)data, *stop = at + size;
  if (size >= 3 && memcmp(at, "\xEF\xBB\xBF", 3) == 0) at += 3; /* a UTF-8 byte-order mark */
  struct csv_parser parser;
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0)
    return fm_fail(FM_ERR_NOMEM, "data file %s: out of memory for the CSV parser", name);
  csv_reader r = {.name = name, .st = FM_OK};
  int quoted = 0;       /* inside a quoted field that goes on past a line's end */
  size_t opened = 0;    /* the line that quote opened on */
  while (at < stop && r.st == FM_OK) {
    const char *end = memchr(at, '\n', (size_t)(stop - at));
    end = end ? end + 1 : stop;
    r.line++;
    if (quoted || !skipped(at, end)) {
      size_t len = (size_t)(end - at);
      if (csv_parse(&parser, at, len, csv_field, csv_row, &r) != len && r.st == FM_OK)
        r.st = fm_fail(FM_ERR_FORMAT, "data file %s: line %zu, column %zu (from 0): %s", name,
                       r.line, r.col, csv_error(&parser) == CSV_EPARSE
                           ? "a quote inside an unquoted field, or text after a closing quote "
                             "(quote the whole field and double the quotes in it: \"a\"\"b\")"
                           : csv_strerror(csv_error(&parser)));
      for (const char *q = at; q < end; q++)
        if (*q == '"' && (quoted ^= 1)) opened = r.line; /* a quote that opens a field */
    }
    at = end;
  }
  if (r.st == FM_OK && csv_fini(&parser, csv_field, csv_row, &r) != 0 && r.st == FM_OK)
    r.st = fm_fail(FM_ERR_FORMAT, "data file %s: line %zu: a quoted field is not closed before "
                   "the end of the file", name, quoted ? opened : r.line);
  csv_free(&parser);
  if (r.st == FM_OK && r.rows == 0)
    r.st = fm_fail(FM_ERR_FORMAT, "data file %s: no data rows%s", name,
                   size == 0 ? " (the file is empty)" : "");
  if (r.st == FM_OK) r.st = alloc_points(name, r.rows, r.dim, out);
  if (r.st == FM_OK) memcpy(out->x, r.x, r.rows * r.dim * sizeof *r.x);
  free(r.x);
  if (r.st == FM_OK && r.header) {
    out->names = r.first; /* dim names, as the header gave them */
    drop_row_names(out);
    return FM_OK;
  }
  for (size_t i = 0; i < r.n_first; i++) free(r.first[i]);
  free(r.first);
  return r.st;
}

/* ---- NPY ---------------------------------------------------------------------------- */

/* The text after 'key': in the header dict, or NULL. */
static const char *dict_value(const char *header, const char *key) {
  char quoted[32];
  snprintf(quoted, sizeof quoted, "'%s'", key);
  const char *p = strstr(header, quoted);
  if (!p) return NULL;
  p += strlen(quoted);
  while (*p == ' ') p++;
  if (*p != ':') return NULL;
  p++;
  while (*p == ' ') p++;
  return p;
}

static fm_status parse_npy(const unsigned char *data, size_t size, const char *name,
                           fm_points *out) {
  if (size < 10 || memcmp(data, "\x93NUMPY", 6) != 0)
    return fm_fail(FM_ERR_FORMAT, "data file %s: not an NPY file (no \\x93NUMPY magic)", name);
  unsigned major = data[6];
  size_t header_len, offset;
  if (major == 1) {
    header_len = (size_t)data[8] | (size_t)data[9] << 8;
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) return fm_fail(FM_ERR_FORMAT, "data file %s: NPY header is truncated", name);
    header_len = (size_t)data[8] | (size_t)data[9] << 8 | (size_t)data[10] << 16 |
                 (size_t)data[11] << 24;
    offset = 12;
  } else {
    return fm_fail(FM_ERR_FORMAT, "data file %s: NPY format version %u is not supported (1 to 3 "
                   "are)", name, major);
  }
  if (header_len > size - offset || header_len > 65536)
    return fm_fail(FM_ERR_FORMAT, "data file %s: NPY header is truncated", name);
  char *header = malloc(header_len + 1);
  if (!header) return fm_fail(FM_ERR_NOMEM, "data file %s: out of memory", name);
  memcpy(header, data + offset, header_len);
  header[header_len] = '\0';
  offset += header_len;

  fm_status st = FM_OK;
  const char *descr = dict_value(header, "descr"), *order = dict_value(header, "fortran_order");
  const char *shape = dict_value(header, "shape");
  if (!descr || !order || !shape) {
    st = fm_fail(FM_ERR_FORMAT, "data file %s: NPY header lacks descr, fortran_order or shape",
                 name);
    goto done;
  }
  /* descr: byte order (< little, > big, = native, | not applicable), kind (f float, i
   * signed, u unsigned, b bool) and bytes: every numeric dtype NumPy writes. */
  char dtype[16] = "";
  sscanf(descr, "'%15[^']'", dtype);
  char kind = dtype[0] ? dtype[1] : 0;
  int big_endian = dtype[0] == '>';
  size_t item = (size_t)atoi(dtype + (dtype[0] ? 2 : 0));
  int known = strchr("<>=|", dtype[0]) && dtype[0] &&
              ((kind == 'f' && (item == 2 || item == 4 || item == 8)) ||
               ((kind == 'i' || kind == 'u') && (item == 1 || item == 2 || item == 4 || item == 8)) ||
               (kind == 'b' && item == 1));
  if (!known) {
    st = fm_fail(FM_ERR_FORMAT, "data file %s: NPY dtype '%s' is not a number fmcl reads "
                 "(float16/32/64, int and uint 8 to 64 bits, bool)%s", name, dtype,
                 kind == 'O' ? "; an object array holds Python objects: save a numeric one, "
                               "e.g. np.asarray(x, dtype=np.float32)" : "");
    goto done;
  }
  int fortran = strncmp(order, "True", 4) == 0; /* column by column (x.T of a C array) */
  if (*shape != '(') {
    st = fm_fail(FM_ERR_FORMAT, "data file %s: NPY shape is not a tuple", name);
    goto done;
  }
  size_t dims[3] = {0, 0, 0}, n_dims = 0;
  const char *p = shape + 1;
  while (*p && *p != ')') {
    while (*p == ' ' || *p == ',') p++;
    if (*p == ')') break;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 10);
    if (end == p || errno || n_dims == 3 || v > (1ull << 40)) {
      st = fm_fail(FM_ERR_FORMAT, "data file %s: NPY shape %.40s is not 1 or 2 sizes", name, shape);
      goto done;
    }
    dims[n_dims++] = (size_t)v;
    p = end;
  }
  if (n_dims != 1 && n_dims != 2) {
    st = fm_fail(FM_ERR_FORMAT, "data file %s: NPY array has %zu dimensions; save one point per "
                 "row, shape (n, d)", name, n_dims);
    goto done;
  }
  size_t n = dims[0], dim = n_dims == 2 ? dims[1] : 1;
  if (n != 0 && dim != 0 && n > (SIZE_MAX / dim) / item) {
    st = fm_fail(FM_ERR_FORMAT, "data file %s: NPY shape is too large", name);
    goto done;
  }
  size_t need = n * dim * item;
  if (size - offset < need) {
    st = fm_fail(FM_ERR_FORMAT, "data file %s: truncated: the shape needs %zu bytes of data, the "
                 "file has %zu", name, need, size - offset);
    goto done;
  }
  st = alloc_points(name, n, dim, out);
  if (st != FM_OK) goto done;
  const unsigned char *values = data + offset;
  for (size_t i = 0; i < n * dim; i++) {
    size_t at = fortran ? (i % dim) * n + i / dim : i; /* row i / dim, column i % dim */
    uint64_t u = 0;
    const unsigned char *b = values + at * item;
    for (size_t k = 0; k < item; k++) /* the bytes as a little-endian word */
      u |= (uint64_t)b[big_endian ? item - 1 - k : k] << (8 * k);
    double v;
    if (kind == 'f' && item == 2) {
      v = fm_half_to_float((uint16_t)u);
    } else if (kind == 'f' && item == 4) {
      uint32_t w = (uint32_t)u;
      float f;
      memcpy(&f, &w, 4);
      v = f;
    } else if (kind == 'f') {
      memcpy(&v, &u, 8);
    } else if (kind == 'i') { /* sign-extend from item bytes */
      int shift = 64 - 8 * (int)item;
      v = (double)((int64_t)(u << shift) >> shift);
    } else {
      v = (double)u; /* unsigned and bool */
    }
    if (!isfinite(v) || fabs(v) > 3.4e38) {
      fm_points_free(out);
      st = fm_fail(FM_ERR_FORMAT, "data file %s: row %zu, column %zu (from 0): %g is not a "
                   "finite float", name, i / dim, i % dim, v);
      goto done;
    }
    out->x[i] = (float)v;
  }
done:
  free(header);
  return st;
}

/* ---- NPZ ---------------------------------------------------------------------------- */

#ifdef FMCL_HAVE_LIBZIP
#include <zip.h>

int fm_datafile_has_npz(void) { return 1; }

/* The archive's arrays (members KEY.npy): their keys, comma-separated into out (for
 * messages), how many there are, and the index of the last. */
static int member_names(zip_t *z, char *out, size_t size, zip_int64_t *last) {
  out[0] = '\0';
  zip_int64_t n = zip_get_num_entries(z, 0);
  size_t used = 0;
  int count = 0;
  for (zip_int64_t i = 0; i < n; i++) {
    const char *m = zip_get_name(z, (zip_uint64_t)i, 0);
    size_t len = m ? strlen(m) : 0;
    if (len < 4 || strcmp(m + len - 4, ".npy") != 0) continue;
    *last = i;
    if (used + 1 < size)
      used += (size_t)snprintf(out + used, size - used, "%s%.*s", count ? ", " : "",
                               (int)(len - 4), m);
    count++;
  }
  return count;
}

/* The array key (key.npy) of an NPZ archive (NULL or "": its only array), as NPY. */
static fm_status parse_npz(const unsigned char *data, size_t size, const char *name,
                           const char *key, fm_points *out) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t *src = zip_source_buffer_create(data, size, 0, &error);
  zip_t *z = src ? zip_open_from_source(src, ZIP_RDONLY, &error) : NULL;
  if (!z) {
    fm_status st = fm_fail(FM_ERR_FORMAT, "data file %s: not a readable NPZ archive (%s)", name,
                           zip_error_strerror(&error));
    zip_source_free(src);
    zip_error_fini(&error);
    return st;
  }
  zip_error_fini(&error);
  fm_status st = FM_OK;
  unsigned char *bytes = NULL;
  char names[512], member[300] = "";
  zip_int64_t only = -1, at = -1;
  int arrays = member_names(z, names, sizeof names, &only);
  if (key && key[0]) {
    snprintf(member, sizeof member, "%s.npy", key);
    at = zip_name_locate(z, member, 0);
  } else if (arrays == 1) {
    at = only;
    const char *m = zip_get_name(z, (zip_uint64_t)at, 0);
    fm_strlcpy(member, m ? m : "?", sizeof member);
  } else {
    st = fm_fail(FM_ERR_CONFIG, "data file %s: the archive holds %s; name the one to use "
                 "with data.key", name, names[0] ? names : "no arrays");
    goto done;
  }
  if (at < 0) {
    st = fm_fail(FM_ERR_CONFIG, "data file %s: the archive has no array '%s' (data.key); it "
                 "holds: %s", name, key ? key : "", names[0] ? names : "no arrays");
    goto done;
  }
  zip_stat_t info;
  zip_file_t *f = NULL;
  /* At most what an NPY of fmcl's largest data set holds (2^31 values of 8 bytes), and what
   * its compressed bytes can give: deflate expands at most 1032 times. */
  if (zip_stat_index(z, (zip_uint64_t)at, 0, &info) != 0 ||
      (info.valid & (ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE)) != (ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE) ||
      info.size > ((zip_uint64_t)MAX_VALUES * 8 + 65536) ||
      info.size > 1032 * info.comp_size + 1024 || info.comp_size > size) {
    st = fm_fail(FM_ERR_FORMAT, "data file %s: %s: its size is missing, more than a data set "
                 "holds or more than its %llu compressed bytes can give: the archive is damaged",
                 name, member, (unsigned long long)info.comp_size);
    goto done;
  }
  bytes = malloc(info.size ? info.size : 1);
  if (!bytes) {
    st = fm_fail(FM_ERR_NOMEM, "data file %s: out of memory for %s", name, member);
    goto done;
  }
  f = zip_fopen_index(z, (zip_uint64_t)at, 0);
  unsigned char past;
  /* Reading on to the end is what makes libzip check the member's CRC. */
  if (!f || zip_fread(f, bytes, info.size) != (zip_int64_t)info.size ||
      zip_fread(f, &past, 1) != 0) {
    st = fm_fail(FM_ERR_FORMAT, "data file %s: cannot read %s from the archive (%s): it is "
                 "damaged", name, member, f ? zip_file_strerror(f) : zip_strerror(z));
    if (f) zip_fclose(f);
    goto done;
  }
  zip_fclose(f);
  char inner[1200];
  snprintf(inner, sizeof inner, "%s (%s)", name, member);
  st = parse_npy(bytes, (size_t)info.size, inner, out);
done:
  free(bytes);
  zip_discard(z);
  return st;
}
#else
int fm_datafile_has_npz(void) { return 0; }

static fm_status parse_npz(const unsigned char *data, size_t size, const char *name,
                           const char *key, fm_points *out) {
  (void)data, (void)size, (void)key, (void)out;
  return fm_fail(FM_ERR_FORMAT, "data file %s: an NPZ archive, and this fmcl was built without "
                 "libzip; install libzip-dev and build again (tools/setup.sh), or save the "
                 "array with np.save", name);
}
#endif

fm_status fm_datafile_parse(const unsigned char *data, size_t size, const char *name,
                            fm_data_format format, const char *key, fm_points *out) {
  memset(out, 0, sizeof *out);
  if (fm_is_gzip(data, size)) { /* x.idx.gz, x.csv.gz, ...: the file inside */
    unsigned char *inner;
    size_t inner_size;
    fm_status st = fm_gunzip(data, size, name, MAX_VALUES * 8 + 65536, &inner, &inner_size);
    if (st != FM_OK) return fm_fail_context(st, "data file ");
    st = fm_is_gzip(inner, inner_size)
             ? fm_fail(FM_ERR_FORMAT, "data file %s: a gzip file inside a gzip file", name)
             : fm_datafile_parse(inner, inner_size, name, format, key, out);
    free(inner);
    return st;
  }
  if (format == FM_FORMAT_AUTO)
    format = size >= 6 && memcmp(data, "\x93NUMPY", 6) == 0 ? FM_FORMAT_NPY
             : size >= 4 && memcmp(data, "PK\x03\x04", 4) == 0 ? FM_FORMAT_NPZ
             : fm_is_idx(data, size)                          ? FM_FORMAT_IDX
                                                               : FM_FORMAT_CSV;
  if (format == FM_FORMAT_IDX) {
    fm_status st = fm_idx_parse(data, size, name, out);
    return st == FM_OK ? st : fm_fail_context(st, "data file ");
  }
  if (format == FM_FORMAT_NPZ) return parse_npz(data, size, name, key, out);
  return format == FM_FORMAT_NPY ? parse_npy(data, size, name, out)
                                 : parse_csv(data, size, name, out);
}

fm_status fm_datafile_load(const char *path, fm_data_format format, const char *key,
                           fm_points *out) {
  char *data = NULL;
  size_t size = 0;
  memset(out, 0, sizeof *out);
  fm_status st = fm_read_whole(path, "data file", FM_ERR_IO, SIZE_MAX, &data, &size);
  if (st != FM_OK) return st;
  st = fm_datafile_parse((const unsigned char *)data, size, path, format, key, out);
  free(data);
  return st;
}

fm_status fm_datafile_take_labels(fm_points *p, int column, const char *name) {
  if (column < 0 || column >= p->dim)
    return fm_fail(FM_ERR_CONFIG, "data file %s: data.label_column %d, but rows have %d columns "
                   "(numbered from 0)", name, column, p->dim);
  if (p->dim < 2)
    return fm_fail(FM_ERR_CONFIG, "data file %s: the label column is the only column; there are "
                   "no coordinates left", name);
  int dim = p->dim, kept = dim - 1;
  for (int i = 0; i < p->n; i++) {
    float v = p->x[(size_t)i * dim + column];
    if (!(v >= 0) || v != floorf(v) || v > 1e6f)
      return fm_fail(FM_ERR_FORMAT, "data file %s: row %d, column %d (from 0; data.label_column): "
                     "%g is not a class label (a whole number from 0)", name, i, column, (double)v);
    p->label[i] = (int)v;
  }
  if (p->names) { /* the label column's name goes with it */
    free(p->names[column]);
    memmove(p->names + column, p->names + column + 1, (size_t)(dim - column - 1) * sizeof *p->names);
  }
  /* Compact the rows in place, dropping the label column: row i moves down to i * kept,
   * which never overwrites a row not yet moved. */
  for (int i = 0; i < p->n; i++) {
    const float *src = p->x + (size_t)i * dim;
    float *dst = p->x + (size_t)i * kept;
    memmove(dst, src, (size_t)column * sizeof *dst);
    memmove(dst + column, src + column + 1, (size_t)(dim - column - 1) * sizeof *dst);
  }
  p->dim = kept;
  return FM_OK;
}
