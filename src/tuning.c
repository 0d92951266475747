/* Tuning files: JSON written by fmcl tune, checked field by field when read. */
#include "fmcl/tuning.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "internal.h"

#define TUNING_FORMAT 2

void fm_tuning_path(const fm_device *dev, const char *configured, char *out, size_t size) {
  if (configured && configured[0]) {
    fm_strlcpy(out, configured, size);
    return;
  }
  const fm_device_info *d = fm_device_get_info(dev);
  char key[400];
  snprintf(key, sizeof key, "%s-%s", d->name, d->driver);
  for (char *c = key; *c; c++)
    if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-') *c = '_';
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  if (xdg && *xdg) snprintf(out, size, "%s/fmcl/tuning/%s.json", xdg, key);
  else snprintf(out, size, "%s/.cache/fmcl/tuning/%s.json", home && *home ? home : ".", key);
}

void fm_tuning_free(fm_gemm_tuning *t) {
  if (!t) return;
  free(t->choices);
  memset(t, 0, sizeof *t);
}

/* The index of name in a NULL-terminated list, or -1. */
static int name_index(const char *const *names, const char *name) {
  for (int i = 0; names[i]; i++)
    if (strcmp(names[i], name) == 0) return i;
  return -1;
}

/* One kernel's CLBlast parameters: null, or an object of names and counts. */
static const char *read_params(const cJSON *o, fm_clblast_params *out) {
  if (!o || cJSON_IsNull(o)) return NULL;
  if (!cJSON_IsObject(o)) return "its CLBlast parameters are damaged";
  for (cJSON *p = o->child; p; p = p->next) {
    if (out->n == FM_CLBLAST_MAX_PARAMS || !cJSON_IsNumber(p) || p->valuedouble < 0 ||
        strlen(p->string) >= sizeof out->names[0])
      return "its CLBlast parameters are damaged";
    fm_strlcpy(out->names[out->n], p->string, sizeof out->names[0]);
    out->values[out->n++] = (size_t)p->valuedouble;
  }
  return NULL;
}

/* A positive integer member of o into *out, or 0 when it is missing or not one. */
static int read_count(const cJSON *o, const char *name, size_t *out) {
  const cJSON *v = cJSON_GetObjectItem(o, name);
  if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e9 ||
      v->valuedouble != (double)(size_t)v->valuedouble)
    return 0;
  *out = (size_t)v->valuedouble;
  return 1;
}

/* One product entry into c; NULL, or why it is damaged. */
static const char *read_product(const cJSON *s, fm_gemm_choice *c) {
  const cJSON *op = cJSON_GetObjectItem(s, "op"), *pr = cJSON_GetObjectItem(s, "provider");
  if (!cJSON_IsString(op) || !cJSON_IsString(pr) || !read_count(s, "m", &c->m) ||
      !read_count(s, "n", &c->n) || !read_count(s, "k", &c->k))
    return "a product entry is damaged";
  int o = name_index(fm_gemm_op_names, op->valuestring);
  int p = name_index(fm_gemm_provider_names, pr->valuestring);
  if (o < 0 || p <= FM_GEMM_AUTO) return "a product entry names an unknown operation or provider";
  c->op = (fm_gemm_op)o;
  c->impl.provider = (fm_gemm_provider)p;
  c->impl.tile = fm_gpu_tile_default();
  if (c->impl.provider != FM_GEMM_FMCL_GPU) return NULL;
  const cJSON *t = cJSON_GetObjectItem(s, "tile");
  size_t v[5];
  static const char *const keys[] = {"wg_m", "wg_n", "item_m", "item_n", "tile_k"};
  for (int i = 0; i < 5; i++)
    if (!read_count(t, keys[i], &v[i]) || v[i] > 256) return "a product's GPU tile is damaged";
  fm_gpu_tile tile = {(int)v[0], (int)v[1], (int)v[2], (int)v[3], (int)v[4]};
  c->impl.tile = tile;
  return NULL;
}

/* Why a parsed tuning file cannot be used for dev, or NULL when it can; fills out. */
static const char *read_tuning(const cJSON *root, fm_device *dev, fm_gemm_tuning *out) {
  const fm_device_info *d = fm_device_get_info(dev);
  if (!root) return "it is not valid JSON";
  cJSON *dv = cJSON_GetObjectItem(root, "device"), *dr = cJSON_GetObjectItem(root, "driver");
  cJSON *fmt = cJSON_GetObjectItem(root, "format");
  cJSON *products = cJSON_GetObjectItem(root, "products");
  cJSON *params = cJSON_GetObjectItem(root, "clblast_parameters");
  if (!cJSON_IsNumber(fmt) || fmt->valuedouble != TUNING_FORMAT)
    return "its format is not this fmcl's";
  if (!cJSON_IsString(dv) || strcmp(dv->valuestring, d->name) != 0)
    return "it was made for another device";
  if (!cJSON_IsString(dr) || strcmp(dr->valuestring, d->driver) != 0)
    return "it was made with another driver version";
  if (!cJSON_IsArray(products)) return "it has no list of products";
  int count = cJSON_GetArraySize(products);
  out->choices = calloc((size_t)(count ? count : 1), sizeof *out->choices);
  if (!out->choices) return "out of memory";
  for (int i = 0; i < count; i++) {
    fm_gemm_choice *c = &out->choices[i];
    const char *why = read_product(cJSON_GetArrayItem(products, i), c);
    if (why) return why;
    /* A tile the driver allows fewer items than the device's maximum runs fitted. */
    if (c->impl.provider == FM_GEMM_FMCL_GPU &&
        (!fm_gpu_tile_fits(dev, &c->impl.tile) || fm_gpu_tile_fit(dev, &c->impl.tile) != FM_OK)) {
      fm_error_clear();
      return "a product's GPU tile does not fit this device";
    }
    for (int j = 0; j < out->n_choices; j++)
      if (out->choices[j].op == c->op && out->choices[j].m == c->m &&
          out->choices[j].n == c->n && out->choices[j].k == c->k)
        return "it lists one product twice";
    out->n_choices++;
  }
  if (params && !cJSON_IsObject(params)) return "its CLBlast parameters are damaged";
  const char *why = read_params(cJSON_GetObjectItem(params, "Xgemm"), &out->xgemm);
  if (!why) why = read_params(cJSON_GetObjectItem(params, "XgemmDirect"), &out->xgemm_direct);
  return why;
}

fm_status fm_tuning_load(fm_device *dev, const char *path, fm_gemm_tuning *out,
                         const fm_reporter *report) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f) return FM_OK; /* no file: the device is untuned, which needs no warning */
  fclose(f);
  char *text = NULL;
  size_t n = 0;
  fm_status st = fm_read_whole(path, "tuning file", FM_ERR_IO, (size_t)1 << 20, &text, &n);
  if (st == FM_ERR_NOMEM) return st;
  if (st != FM_OK) {
    fm_report(report, FM_REPORT_WARNING, "%s; the tuning file is ignored and the device's "
              "defaults are used (run fmcl tune to measure it again)", fm_error_message());
    fm_error_clear();
    return FM_OK;
  }
  cJSON *root = cJSON_Parse(text);
  free(text);
  const char *why = read_tuning(root, dev, out);
  cJSON_Delete(root);
  if (why) {
    fm_tuning_free(out);
    fm_report(report, FM_REPORT_WARNING, "tuning file %s is ignored: %s; the device's defaults "
              "are used (run fmcl tune to measure it again)", path, why);
  }
  return FM_OK;
}

static cJSON *params_json(const fm_clblast_params *p) {
  if (p->n <= 0) return cJSON_CreateNull();
  cJSON *o = cJSON_CreateObject();
  for (int i = 0; i < p->n; i++) cJSON_AddNumberToObject(o, p->names[i], (double)p->values[i]);
  return o;
}

fm_status fm_tuning_save(const char *path, const fm_device *dev, const fm_tuning_entry *entries,
                         int n_entries, const fm_clblast_params *xgemm,
                         const fm_clblast_params *xgemm_direct) {
  const fm_device_info *d = fm_device_get_info(dev);
  cJSON *root = cJSON_CreateObject();
  cJSON_AddNumberToObject(root, "format", TUNING_FORMAT);
  cJSON_AddStringToObject(root, "device", d->name);
  cJSON_AddStringToObject(root, "driver", d->driver);
  cJSON *params = cJSON_AddObjectToObject(root, "clblast_parameters");
  cJSON_AddItemToObject(params, "Xgemm", params_json(xgemm));
  cJSON_AddItemToObject(params, "XgemmDirect", params_json(xgemm_direct));
  cJSON *list = cJSON_AddArrayToObject(root, "products");
  for (int i = 0; i < n_entries; i++) {
    const fm_tuning_entry *e = &entries[i];
    const fm_gemm_choice *c = &e->choice;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "op", fm_gemm_op_names[c->op]);
    cJSON_AddNumberToObject(o, "m", (double)c->m);
    cJSON_AddNumberToObject(o, "n", (double)c->n);
    cJSON_AddNumberToObject(o, "k", (double)c->k);
    cJSON_AddStringToObject(o, "provider", fm_gemm_provider_name(c->impl.provider));
    if (c->impl.provider == FM_GEMM_FMCL_GPU) {
      cJSON *t = cJSON_AddObjectToObject(o, "tile");
      cJSON_AddNumberToObject(t, "wg_m", c->impl.tile.wg_m);
      cJSON_AddNumberToObject(t, "wg_n", c->impl.tile.wg_n);
      cJSON_AddNumberToObject(t, "item_m", c->impl.tile.item_m);
      cJSON_AddNumberToObject(t, "item_n", c->impl.tile.item_n);
      cJSON_AddNumberToObject(t, "tile_k", c->impl.tile.tile_k);
    }
    cJSON *g = cJSON_AddObjectToObject(o, "gflops");
    static const char *const what[] = {"fmcl", "fmcl-gpu", "clblast", "clblast_tuned"};
    const double values[] = {e->fmcl_gflops, e->gpu_gflops, e->clblast_gflops,
                             e->clblast_tuned_gflops};
    for (int j = 0; j < 4; j++) {
      if (values[j] > 0) cJSON_AddNumberToObject(g, what[j], values[j]);
      else cJSON_AddNullToObject(g, what[j]); /* not a candidate, or it failed */
    }
    cJSON_AddItemToArray(list, o);
  }
  char dir[1024];
  fm_strlcpy(dir, path, sizeof dir);
  char *slash = strrchr(dir, '/');
  fm_status st = FM_OK;
  if (slash) {
    *slash = '\0';
    st = fm_make_dirs(dir);
  }
  if (st == FM_OK) st = fm_write_json(path, root);
  cJSON_Delete(root);
  return st;
}
