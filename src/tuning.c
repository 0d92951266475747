/* Tuning files: JSON written by fmcl tune, checked field by field when read. */
#include "fmcl/tuning.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "internal.h"

#define TUNING_FORMAT 1

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

/* Why a parsed tuning file cannot be used for dev, or NULL when it can; fills out. */
static const char *read_tuning(const cJSON *root, const fm_device *dev, fm_gemm_tuning *out) {
  const fm_device_info *d = fm_device_get_info(dev);
  cJSON *dv = cJSON_GetObjectItem(root, "device"), *dr = cJSON_GetObjectItem(root, "driver");
  cJSON *fmt = cJSON_GetObjectItem(root, "format"), *shapes = cJSON_GetObjectItem(root, "shapes");
  cJSON *params = cJSON_GetObjectItem(root, "clblast_parameters");
  if (!root) return "it is not valid JSON";
  if (!cJSON_IsNumber(fmt) || fmt->valuedouble != TUNING_FORMAT) return "its format is not this fmcl's";
  if (!cJSON_IsString(dv) || strcmp(dv->valuestring, d->name) != 0) return "it was made for another device";
  if (!cJSON_IsString(dr) || strcmp(dr->valuestring, d->driver) != 0)
    return "it was made with another driver version";
  if (!cJSON_IsArray(shapes)) return "it has no list of shapes";
  int count = cJSON_GetArraySize(shapes);
  out->choices = calloc((size_t)(count ? count : 1), sizeof *out->choices);
  if (!out->choices) return "out of memory";
  for (int i = 0; i < count; i++) {
    cJSON *s = cJSON_GetArrayItem(shapes, i);
    cJSON *op = cJSON_GetObjectItem(s, "op"), *pr = cJSON_GetObjectItem(s, "provider");
    cJSON *m = cJSON_GetObjectItem(s, "m"), *nn = cJSON_GetObjectItem(s, "n");
    cJSON *k = cJSON_GetObjectItem(s, "k");
    if (!cJSON_IsString(op) || !cJSON_IsString(pr) || !cJSON_IsNumber(m) || !cJSON_IsNumber(nn) ||
        !cJSON_IsNumber(k) || m->valuedouble < 1 || nn->valuedouble < 1 || k->valuedouble < 1 ||
        (strcmp(op->valuestring, "NN") && strcmp(op->valuestring, "TN")) ||
        (strcmp(pr->valuestring, "fmcl") && strcmp(pr->valuestring, "clblast")))
      return "a shape entry is damaged";
    fm_gemm_choice *c = &out->choices[out->n_choices++];
    c->trans_a = op->valuestring[0] == 'T';
    c->m = (size_t)m->valuedouble, c->n = (size_t)nn->valuedouble, c->k = (size_t)k->valuedouble;
    c->provider = pr->valuestring[0] == 'f' ? FM_GEMM_FMCL : FM_GEMM_CLBLAST;
  }
  if (!params || cJSON_IsNull(params)) return NULL;
  if (!cJSON_IsObject(params)) return "its CLBlast parameters are damaged";
  for (cJSON *p = params->child; p; p = p->next) {
    if (out->n_params == FM_CLBLAST_MAX_PARAMS || !cJSON_IsNumber(p) || p->valuedouble < 0 ||
        strlen(p->string) >= 16)
      return "its CLBlast parameters are damaged";
    fm_strlcpy(out->param_names[out->n_params], p->string, 16);
    out->param_values[out->n_params++] = (size_t)p->valuedouble;
  }
  return NULL;
}

fm_status fm_tuning_load(const fm_device *dev, const char *path, fm_gemm_tuning *out,
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

fm_status fm_tuning_save(const char *path, const fm_device *dev, const fm_tuning_entry *entries,
                         int n_entries, int n_params, const char *const *param_names,
                         const size_t *param_values) {
  const fm_device_info *d = fm_device_get_info(dev);
  cJSON *root = cJSON_CreateObject();
  cJSON_AddNumberToObject(root, "format", TUNING_FORMAT);
  cJSON_AddStringToObject(root, "device", d->name);
  cJSON_AddStringToObject(root, "driver", d->driver);
  if (n_params > 0) {
    cJSON *p = cJSON_AddObjectToObject(root, "clblast_parameters");
    for (int i = 0; i < n_params; i++)
      cJSON_AddNumberToObject(p, param_names[i], (double)param_values[i]);
  } else {
    cJSON_AddNullToObject(root, "clblast_parameters");
  }
  cJSON *list = cJSON_AddArrayToObject(root, "shapes");
  for (int i = 0; i < n_entries; i++) {
    const fm_tuning_entry *e = &entries[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "op", e->op);
    cJSON_AddNumberToObject(o, "m", (double)e->m);
    cJSON_AddNumberToObject(o, "n", (double)e->n);
    cJSON_AddNumberToObject(o, "k", (double)e->k);
    cJSON_AddStringToObject(o, "provider", e->provider == FM_GEMM_FMCL ? "fmcl" : "clblast");
    cJSON_AddNumberToObject(o, "fmcl_gflops", e->fmcl_gflops);
    cJSON_AddNumberToObject(o, "clblast_gflops", e->clblast_gflops);
    cJSON_AddNumberToObject(o, "clblast_tuned_gflops", e->clblast_tuned_gflops);
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
