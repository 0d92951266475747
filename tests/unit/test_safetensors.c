/* Reading safetensors: a PyTorch-style file (its own tensor order, F64, F16, no metadata)
 * becomes the flat weights of a model of its shape; everything a hostile file can get wrong
 * is refused with a message that names it; an exported model comes back whole. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* A model of 2 linear layers: 3 -> 4 -> 2. */
static const int IN[2] = {3, 4}, OUT[2] = {4, 2};

typedef struct file {
  unsigned char *bytes;
  size_t size;
} file;

/* 8-byte length, the header as given, then body bytes. */
static file make(const char *header, const unsigned char *body, size_t body_size) {
  size_t len = strlen(header);
  file f = {malloc(8 + len + body_size), 8 + len + body_size};
  for (int k = 0; k < 8; k++) f.bytes[k] = (unsigned char)((uint64_t)len >> (8 * k));
  memcpy(f.bytes + 8, header, len);
  if (body_size) memcpy(f.bytes + 8 + len, body, body_size);
  return f;
}

/* The body of the good file: weights in the order the header lists them (biases first,
 * as a sorted state dict is written), value k = k / 8. */
static unsigned char body[4 * (4 + 12 + 2 + 8)];

static const char *good =
    "{\"0.bias\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
    "\"0.weight\":{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[16,64]},"
    "\"2.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[64,72]},"
    "\"2.weight\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[72,104]}}";

static void fill_body(void) {
  for (int k = 0; k < 26; k++) {
    float v = (float)k / 8;
    memcpy(body + 4 * k, &v, 4);
  }
}

static fm_status parse(file f, float *flat) {
  fm_status st = fm_safetensors_parse_weights(f.bytes, f.size, "test.safetensors", 2, IN, OUT, flat);
  free(f.bytes);
  return st;
}

START_TEST(a_pytorch_state_dict_becomes_the_flat_weights) {
  fill_body();
  size_t w_off[2], b_off[2];
  size_t flat_size = fm_flat_layout(2, IN, OUT, w_off, b_off);
  float *flat = malloc(flat_size * sizeof *flat);
  ck_fm(parse(make(good, body, sizeof body), flat));
  for (int i = 0; i < 4; i++) ck_assert(flat[b_off[0] + i] == (float)i / 8);
  for (int i = 0; i < 12; i++) ck_assert(flat[w_off[0] + i] == (float)(4 + i) / 8);
  for (int i = 0; i < 2; i++) ck_assert(flat[b_off[1] + i] == (float)(16 + i) / 8);
  for (int i = 0; i < 8; i++) ck_assert(flat[w_off[1] + i] == (float)(18 + i) / 8);
  /* The same values as F64 and F16 (exact in both). */
  unsigned char wide[8 * 26], half[2 * 26];
  for (int k = 0; k < 26; k++) {
    double d = (double)k / 8;
    memcpy(wide + 8 * k, &d, 8);
    /* k / 8 in binary16: exponent and mantissa of k * 2^-3 */
    uint16_t h = 0;
    if (k) {
      int e = 0;
      while ((k >> (e + 1)) > 0) e++;
      h = (uint16_t)((e - 3 + 15) << 10 | ((k << (10 - e)) & 1023));
    }
    half[2 * k] = (unsigned char)h, half[2 * k + 1] = (unsigned char)(h >> 8);
  }
  const char *types[2] = {"F64", "F16"};
  for (int t = 0; t < 2; t++) {
    int size = t ? 2 : 8;
    char header[1024];
    snprintf(header, sizeof header,
             "{\"__metadata__\":{\"format\":\"pt\"},"
             "\"0.bias\":{\"dtype\":\"%s\",\"shape\":[4],\"data_offsets\":[0,%d]},"
             "\"0.weight\":{\"dtype\":\"%s\",\"shape\":[4,3],\"data_offsets\":[%d,%d]},"
             "\"2.bias\":{\"dtype\":\"%s\",\"shape\":[2],\"data_offsets\":[%d,%d]},"
             "\"2.weight\":{\"dtype\":\"%s\",\"shape\":[2,4],\"data_offsets\":[%d,%d]}}",
             types[t], 4 * size, types[t], 4 * size, 16 * size, types[t], 16 * size, 18 * size,
             types[t], 18 * size, 26 * size);
    float *again = malloc(flat_size * sizeof *again);
    ck_fm(parse(make(header, t ? half : wide, (size_t)(26 * size)), again));
    for (size_t i = 0; i < flat_size; i++)
      ck_assert_msg(again[i] == flat[i], "%s: [%zu] %g, F32 %g", types[t], i, again[i], flat[i]);
    free(again);
  }
  free(flat);
}
END_TEST

/* Each broken file, and a word its message must hold. */
START_TEST(a_hostile_file_is_refused_with_its_fault_named) {
  fill_body();
  float flat[256];
  struct {
    const char *header;
    size_t body_size;
    const char *says;
  } cases[] = {
      {"{\"0.bias\"", sizeof body, "not a JSON object"},
      {good, sizeof body - 4, "not within"},
      {good, sizeof body + 8, "after the last tensor"},
      {"{\"0.bias\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
       "\"0.weight\":{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[8,56]},"
       "\"2.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[56,64]},"
       "\"2.weight\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[64,96]}}", 96, "overlap"},
      {"{\"0.bias\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
       "\"0.weight\":{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[24,72]},"
       "\"2.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[72,80]},"
       "\"2.weight\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[80,112]}}", 112, "hole"},
      {"{\"0.bias\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16, "dtype I64"},
      {"{\"0.bias\":{\"dtype\":\"F32\",\"shape\":[5],\"data_offsets\":[0,16]}}", 16, "needs 20 bytes"},
      {"{\"0.bias\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}", 16, "whole numbers"},
      {"{\"0.bias\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
       "\"0.weight\":{\"dtype\":\"F32\",\"shape\":[3,4],\"data_offsets\":[16,64]},"
       "\"2.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[64,72]},"
       "\"2.weight\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[72,104]}}", sizeof body,
       "has shape [3, 4], this model's is [4, 3]"},
      {"{\"0.bias\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
       "\"0.weight\":{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[16,64]},"
       "\"2.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[64,72]},"
       "\"4.weight\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[72,104]}}", sizeof body,
       "no tensor 2.weight"},
      {"{\"0.bias\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
       "\"0.weight\":{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[16,64]},"
       "\"2.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[64,72]},"
       "\"2.weight\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[72,104]},"
       "\"extra\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[104,104]}}", sizeof body,
       "extra is not part of this model"},
      {"{\"0.bias\":{\"shape\":[4],\"data_offsets\":[0,16]}}", 16, "needs a dtype"},
      {"{\"0.bias\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
       "\"0.weight\":{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[16,64]},"
       "\"2.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[64,72]},"
       "\"2.weight\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[72,104]},"
       "\"0.bias\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[104,120]}}", 120,
       "each once"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    unsigned char padded[256] = {0};
    memcpy(padded, body, sizeof body);
    fm_status st = parse(make(cases[c].header, padded, cases[c].body_size), flat);
    ck_assert_msg(st == FM_ERR_FORMAT && strstr(fm_error_message(), cases[c].says) &&
                      strstr(fm_error_message(), "test.safetensors"),
                  "case %zu: %s: %s (wanted '%s')", c, fm_status_str(st), fm_error_message(),
                  cases[c].says);
  }
  /* A NaN weight, a header longer than the file, and too few bytes for a length. */
  float nan = NAN;
  memcpy(body + 4 * 20, &nan, 4);
  fm_status st = parse(make(good, body, sizeof body), flat);
  ck_assert_msg(st == FM_ERR_FORMAT && strstr(fm_error_message(), "NaN"), "%s", fm_error_message());
  file f = make(good, body, sizeof body);
  f.bytes[0] = 0xff, f.bytes[1] = 0xff;
  ck_assert_int_eq(parse(f, flat), FM_ERR_FORMAT);
  ck_assert_msg(strstr(fm_error_message(), "truncated"), "%s", fm_error_message());
  ck_assert_int_eq(fm_safetensors_parse_weights((const unsigned char *)"abc", 3, "x", 2, IN, OUT,
                                                flat), FM_ERR_FORMAT);
  /* A file without fmcl's metadata cannot describe a model to sample from. */
  fill_body();
  file g = make(good, body, sizeof body);
  fm_checkpoint ck;
  ck_assert_int_eq(fm_safetensors_parse(g.bytes, g.size, "test.safetensors", &ck), FM_ERR_FORMAT);
  ck_assert_msg(strstr(fm_error_message(), "model.init_from"), "%s", fm_error_message());
  free(g.bytes);
}
END_TEST

int main(void) {
  Suite *s = suite_create("safetensors");
  TCase *tc = tcase_create("safetensors");
  tcase_add_test(tc, a_pytorch_state_dict_becomes_the_flat_weights);
  tcase_add_test(tc, a_hostile_file_is_refused_with_its_fault_named);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
