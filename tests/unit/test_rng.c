/* Random numbers: Philox4x32-10 against the published known answers, the kernels against
 * the host bit for bit, and the normal generator's statistics. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "support.h"

START_TEST(philox_matches_random123_known_answers) {
  /* Random123's kat_vectors for philox4x32-10. */
  const uint32_t ctr[3][4] = {{0, 0, 0, 0},
                              {~0u, ~0u, ~0u, ~0u},
                              {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}};
  const uint32_t key[3][2] = {{0, 0}, {~0u, ~0u}, {0xa4093822, 0x299f31d0}};
  const uint32_t want[3][4] = {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
                               {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
                               {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}};
  for (int i = 0; i < 3; i++) {
    uint32_t out[4];
    fm_philox4x32(ctr[i], key[i], out);
    for (int j = 0; j < 4; j++) ck_assert_uint_eq(out[j], want[i][j]);
  }
}
END_TEST

static const char *probe_kernel =
    "__kernel void probe(__global uint *out, uint n, uint2 key, uint step, uint stream) {\n"
    "  uint i = get_global_id(0);\n"
    "  if (i >= n) return;\n"
    "  uint4 r = fm_philox((uint4)(i, 3, step, stream), key);\n"
    "  vstore4(r, i, out);\n"
    "}\n";

START_TEST(device_philox_is_bit_identical_to_host) {
  fm_device *dev = test_device();
  char *src = NULL, origin[256];
  ck_fm(fm_kernels_program_source("rng", &src, origin, sizeof origin));
  char *full = malloc(strlen(src) + strlen(probe_kernel) + 1);
  strcpy(full, src);
  strcat(full, probe_kernel);
  cl_program prog = NULL;
  ck_fm(fm_device_build(dev, "rng probe", full, "", &prog));
  cl_int err;
  cl_kernel k = clCreateKernel(prog, "probe", &err);
  ck_assert_int_eq(err, CL_SUCCESS);
  const cl_uint n = 1037, step = 77, stream = 5;
  uint64_t seed = 0x123456789abcdefull;
  cl_uint2 key = {{(cl_uint)seed, (cl_uint)(seed >> 32)}};
  cl_mem out = test_zeros(4 * n);
  clSetKernelArg(k, 0, sizeof out, &out);
  clSetKernelArg(k, 1, sizeof n, &n);
  clSetKernelArg(k, 2, sizeof key, &key);
  clSetKernelArg(k, 3, sizeof step, &step);
  clSetKernelArg(k, 4, sizeof stream, &stream);
  size_t global = n;
  ck_fm(fm_device_launch(dev, k, 1, &global, NULL));
  uint32_t *got = malloc(4 * n * sizeof *got);
  ck_fm(fm_device_read(dev, out, 0, 4 * n * sizeof *got, got));
  for (uint32_t i = 0; i < n; i++) {
    uint32_t c[4] = {i, 3, step, stream}, kk[2] = {key.s[0], key.s[1]}, w[4];
    fm_philox4x32(c, kk, w);
    for (int j = 0; j < 4; j++) ck_assert_uint_eq(got[4 * i + j], w[j]);
  }
  free(got);
  fm_device_release(dev, out);
  clReleaseKernel(k);
  clReleaseProgram(prog);
  free(full);
  free(src);
}
END_TEST

/* The host formula of cl/rng.cl's fm_normal2, in double. */
static void normal2(uint32_t r1, uint32_t r2, double z[2]) {
  double u1 = ((r1 >> 8) + 1) / 16777216.0, u2 = (r2 >> 8) / 16777216.0;
  double radius = sqrt(-2.0 * log(u1)), angle = 6.283185307179586 * u2;
  z[0] = radius * cos(angle);
  z[1] = radius * sin(angle);
}

START_TEST(normal_rows_kernel_matches_host_formula) {
  fm_device *dev = test_device();
  const int n = 37, dim = 7;
  const uint32_t row0 = 1000;
  uint64_t seed = 42;
  cl_mem x = test_zeros((size_t)n * dim);
  ck_fm(fm_sample_normal_rows(dev, x, n, dim, seed, FM_STREAM_SAMPLE, row0));
  float *got = test_download(x, (size_t)n * dim);
  double *want = malloc((size_t)n * dim * sizeof *want);
  for (int i = 0; i < n; i++)
    for (int b = 0; 4 * b < dim; b++) {
      uint32_t c[4] = {row0 + (uint32_t)i, (uint32_t)b, 0, FM_STREAM_SAMPLE};
      uint32_t k[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)}, w[4];
      fm_philox4x32(c, k, w);
      double z[4];
      normal2(w[0], w[1], z);
      normal2(w[2], w[3], z + 2);
      for (int j = 0; j < 4 && 4 * b + j < dim; j++) want[i * dim + 4 * b + j] = z[j];
    }
  ck_assert_uint_eq(test_mismatches("normal", got, want, (size_t)n * dim, 1e-5, 1e-5), 0);
  free(got);
  free(want);
  fm_device_release(dev, x);
}
END_TEST

START_TEST(device_normals_have_unit_variance) {
  fm_device *dev = test_device();
  const int n = 50000, dim = 3;
  cl_mem x = test_zeros((size_t)n * dim);
  ck_fm(fm_sample_normal_rows(dev, x, n, dim, 9, FM_STREAM_SAMPLE, 0));
  float *got = test_download(x, (size_t)n * dim);
  for (int d = 0; d < dim; d++) {
    double s = 0, s2 = 0, s4 = 0;
    for (int i = 0; i < n; i++) {
      double v = got[i * dim + d];
      s += v, s2 += v * v, s4 += v * v * v * v;
    }
    double mean = s / n, var = s2 / n - mean * mean;
    /* Standard errors: mean 1/sqrt(n) = 0.0045, variance sqrt(2/n) = 0.0063. */
    ck_assert_msg(fabs(mean) < 0.025, "dim %d mean %g", d, mean);
    ck_assert_msg(fabs(var - 1) < 0.035, "dim %d variance %g", d, var);
    ck_assert_msg(fabs(s4 / n - 3) < 0.2, "dim %d fourth moment %g", d, s4 / n);
  }
  free(got);
  fm_device_release(dev, x);
}
END_TEST

START_TEST(host_uniform_is_in_unit_interval_and_flat) {
  fm_rng rng;
  fm_rng_init(&rng, 5, FM_STREAM_INIT, 0);
  int bins[10] = {0};
  const int n = 100000;
  for (int i = 0; i < n; i++) {
    double u = fm_rng_uniform(&rng);
    ck_assert(u >= 0 && u < 1);
    bins[(int)(u * 10)]++;
  }
  for (int b = 0; b < 10; b++) ck_assert_msg(abs(bins[b] - n / 10) < 600, "bin %d: %d", b, bins[b]);
}
END_TEST

int main(void) {
  Suite *s = suite_create("rng");
  TCase *tc = tcase_create("rng");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, philox_matches_random123_known_answers);
  tcase_add_test(tc, device_philox_is_bit_identical_to_host);
  tcase_add_test(tc, normal_rows_kernel_matches_host_formula);
  tcase_add_test(tc, device_normals_have_unit_variance);
  tcase_add_test(tc, host_uniform_is_in_unit_interval_and_flat);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
