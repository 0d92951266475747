/* fmcl export: a trained model as safetensors, read back here byte by byte: the header's
 * length, alignment and tensors (nn.Sequential names, shapes, contiguous offsets), the
 * metadata, and every weight equal to the checkpoint's (EMA, or the trained ones with
 * --raw); an existing file is kept unless --overwrite. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "support.h"

static char work[256];

static int fmcl(const char *args, char **out) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "cd %s && %s %s", work, FMCL_BINARY, args);
  return test_shell(cmd, out);
}

/* The file's bytes. */
static unsigned char *slurp(const char *relative, size_t *size) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", work, relative);
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *data = malloc((size_t)n);
  ck_assert(fread(data, 1, (size_t)n, f) == (size_t)n);
  fclose(f);
  *size = (size_t)n;
  return data;
}

/* Checks an exported file against the weights it should hold (flat, in the checkpoint's
 * layout) and returns its metadata's "weights". */
static char *check_file(const char *relative, const fm_checkpoint *ck, const float *weights) {
  size_t size = 0;
  unsigned char *data = slurp(relative, &size);
  ck_assert(size > 8);
  uint64_t len = 0;
  for (int k = 7; k >= 0; k--) len = len << 8 | data[k];
  ck_assert_msg(len % 8 == 0 && 8 + len <= size, "header length %llu of a %zu-byte file",
                (unsigned long long)len, size);
  cJSON *h = cJSON_ParseWithLength((const char *)data + 8, (size_t)len);
  ck_assert_msg(h != NULL, "the header is not JSON");
  size_t w_off[FM_MAX_HIDDEN + 1], b_off[FM_MAX_HIDDEN + 1], expect = 0;
  fm_flat_layout(ck->n_layers, ck->layer_in, ck->layer_out, w_off, b_off);
  const unsigned char *body = data + 8 + len;
  for (int l = 0; l < ck->n_layers; l++)
    for (int part = 0; part < 2; part++) {
      char name[32];
      snprintf(name, sizeof name, "%d.%s", 2 * l, part ? "bias" : "weight");
      cJSON *t = cJSON_GetObjectItem(h, name);
      ck_assert_msg(t != NULL, "no tensor %s", name);
      ck_assert_str_eq(cJSON_GetObjectItem(t, "dtype")->valuestring, "F32");
      cJSON *shape = cJSON_GetObjectItem(t, "shape"), *off = cJSON_GetObjectItem(t, "data_offsets");
      ck_assert_int_eq(cJSON_GetArraySize(shape), part ? 1 : 2);
      ck_assert_int_eq(cJSON_GetArrayItem(shape, 0)->valueint, ck->layer_out[l]);
      if (!part) ck_assert_int_eq(cJSON_GetArrayItem(shape, 1)->valueint, ck->layer_in[l]);
      size_t count = (size_t)ck->layer_out[l] * (part ? 1 : (size_t)ck->layer_in[l]);
      size_t begin = (size_t)cJSON_GetArrayItem(off, 0)->valuedouble;
      size_t end = (size_t)cJSON_GetArrayItem(off, 1)->valuedouble;
      ck_assert_msg(begin == expect && end == begin + 4 * count, "%s at [%zu, %zu), expected %zu",
                    name, begin, end, expect);
      expect = end;
      const float *want = weights + (part ? b_off[l] : w_off[l]);
      for (size_t i = 0; i < count; i++) {
        float got;
        memcpy(&got, body + begin + 4 * i, 4);
        ck_assert_msg(got == want[i], "%s[%zu]: %g, the checkpoint has %g", name, i, got, want[i]);
      }
    }
  ck_assert_msg(8 + len + expect == size, "%zu bytes after the tensors", size - 8 - len - expect);
  cJSON *meta = cJSON_GetObjectItem(h, "__metadata__");
  ck_assert_str_eq(cJSON_GetObjectItem(meta, "dim")->valuestring, "2");
  ck_assert_str_eq(cJSON_GetObjectItem(meta, "hidden")->valuestring, "[16,12]");
  ck_assert_str_eq(cJSON_GetObjectItem(meta, "activation")->valuestring, "silu");
  ck_assert_str_eq(cJSON_GetObjectItem(meta, "time_features")->valuestring, "2");
  cJSON *config = cJSON_Parse(cJSON_GetObjectItem(meta, "config")->valuestring);
  ck_assert_msg(config != NULL, "metadata config is not JSON");
  cJSON_Delete(config);
  char *weights_kind = strdup(cJSON_GetObjectItem(meta, "weights")->valuestring);
  cJSON_Delete(h);
  free(data);
  return weights_kind;
}

START_TEST(export_writes_the_weights_as_safetensors) {
  char *out = NULL;
  ck_exit(fmcl("train --set output.dir=m --set model.hidden=[16,12] --set model.time_features=2 "
               "--set train.steps=40 --set train.ema=0.9 --set data.n_train=500 "
               "--set data.n_test=60 --set sample.n=40 --set output.plots=false --quiet", &out),
          0, out);
  free(out);
  char path[1024];
  snprintf(path, sizeof path, "%s/m/model.fmck", work);
  fm_checkpoint ck;
  ck_fm(fm_checkpoint_load(path, &ck));
  ck_assert_ptr_nonnull(ck.ema);
  ck_exit(fmcl("export --checkpoint m/model.fmck --out m.safetensors", &out), 0, out);
  ck_assert_msg(strstr(out, "EMA weights") && strstr(out, "m.safetensors"), "%s", out);
  free(out);
  char *kind = check_file("m.safetensors", &ck, ck.ema);
  ck_assert_str_eq(kind, "ema");
  free(kind);
  /* The file is kept unless asked; --raw gives the trained weights. */
  ck_exit(fmcl("export --checkpoint m/model.fmck --out m.safetensors --raw", &out), 2, out);
  ck_assert_msg(strstr(out, "m.safetensors exists") && strstr(out, "--overwrite"), "%s", out);
  free(out);
  ck_exit(fmcl("export --checkpoint m/model.fmck --out m.safetensors --raw --overwrite --quiet",
               &out), 0, out);
  free(out);
  kind = check_file("m.safetensors", &ck, ck.params);
  ck_assert_str_eq(kind, "raw");
  free(kind);
  /* Training starts from the exported weights: with no step taken, the new run's model is
   * the file's. From a checkpoint too; a file of another shape is refused. */
  const char *same = "--set model.hidden=[16,12] --set model.time_features=2 --set train.steps=0 "
                     "--set data.n_train=500 --set data.n_test=60 --set sample.n=40 "
                     "--set output.plots=false --quiet";
  char args[2048];
  snprintf(args, sizeof args, "train --set output.dir=tuned --set model.init_from=m.safetensors %s",
           same);
  ck_exit(fmcl(args, &out), 0, out);
  free(out);
  fm_checkpoint tuned;
  snprintf(path, sizeof path, "%s/tuned/model.fmck", work);
  ck_fm(fm_checkpoint_load(path, &tuned));
  ck_assert_uint_eq(tuned.flat_size, ck.flat_size);
  for (size_t i = 0; i < ck.flat_size; i++) ck_assert(tuned.params[i] == ck.params[i]);
  fm_checkpoint_free(&tuned);
  snprintf(args, sizeof args, "train --set output.dir=tuned2 --set model.init_from=m/model.fmck %s",
           same);
  ck_exit(fmcl(args, &out), 0, out);
  free(out);
  snprintf(args, sizeof args, "train --set output.dir=wrong --set model.init_from=m.safetensors "
           "--set model.hidden=[16] --set train.steps=0 --quiet");
  ck_exit(fmcl(args, &out), 1, out);
  ck_assert_msg(strstr(out, "model.init_from") && strstr(out, "shape"), "%s", out);
  free(out);
  /* The same widths wired as residual blocks are another model. */
  snprintf(args, sizeof args, "train --set output.dir=plain3 %s --set model.hidden=[16,12,16]",
           same);
  ck_exit(fmcl(args, &out), 0, out);
  free(out);
  snprintf(args, sizeof args, "train --set output.dir=blocks --set model.init_from=plain3/model.fmck "
           "%s --set model.hidden=[16,12,16] --set model.residual=true", same);
  ck_exit(fmcl(args, &out), 2, out);
  ck_assert_msg(strstr(out, "model.residual must match"), "%s", out);
  free(out);
  /* fmcl sample draws the same points from the exported EMA weights as from the run. */
  ck_exit(fmcl("export --checkpoint m/model.fmck --out ema.safetensors --quiet", &out), 0, out);
  free(out);
  ck_exit(fmcl("sample --checkpoint ema.safetensors --set sample.n=30 --out a.csv --quiet", &out),
          0, out);
  free(out);
  ck_exit(fmcl("sample --checkpoint m/model.fmck --set sample.n=30 --out b.csv --quiet", &out), 0,
          out);
  free(out);
  snprintf(args, sizeof args, "cmp -s %s/a.csv %s/b.csv", work, work);
  ck_assert_msg(test_shell(args, NULL) == 0, "sampling the exported file gave other points");
  fm_checkpoint_free(&ck);
  /* What it needs, and a damaged checkpoint. */
  ck_exit(fmcl("export --checkpoint m/model.fmck", &out), 2, out);
  ck_assert_msg(strstr(out, "--out"), "%s", out);
  free(out);
  ck_exit(fmcl("export --checkpoint m/config.json --out x.safetensors", &out), 1, out);
  ck_assert_msg(strstr(out, "m/config.json"), "%s", out);
  free(out);
}
END_TEST

int main(void) {
  fm_strlcpy(work, test_workdir("export"), sizeof work);
  Suite *s = suite_create("export");
  TCase *tc = tcase_create("export");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, export_writes_the_weights_as_safetensors);
  suite_add_tcase(s, tc);
  return test_run_suite_in(s, work);
}
