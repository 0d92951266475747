/* Test helpers shared by the suites. */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static fm_device *device;

fm_device *test_device(void) {
  if (device) return device;
  fm_device_select sel = {.kind = FM_DEVICE_AUTO, .index = -1};
  const char *index = getenv("FMCL_TEST_DEVICE");
  if (index && *index) sel.index = atoi(index);
  if (fm_device_open(&sel, &device) != FM_OK) {
    fprintf(stderr, "cannot open a device for the tests: %s\n", fm_error_message());
    exit(1);
  }
  return device;
}

int test_device_is_simulator(void) {
  return strstr(fm_device_get_info(test_device())->name, "Oclgrind") != NULL;
}

void test_fill_uniform(float *x, size_t n, unsigned seed, float lo, float hi) {
  unsigned long long s = 0x9E3779B97F4A7C15ull * (seed + 1);
  for (size_t i = 0; i < n; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    x[i] = lo + (hi - lo) * (float)((s >> 40) * (1.0 / 16777216.0));
  }
}

size_t test_mismatches(const char *what, const float *got, const double *want, size_t n,
                       double atol, double rtol) {
  size_t bad = 0;
  for (size_t i = 0; i < n; i++) {
    double err = fabs((double)got[i] - want[i]);
    if (!(err <= atol + rtol * fabs(want[i]))) {
      if (bad < 5)
        fprintf(stderr, "%s[%zu]: got %.9g, want %.9g (error %.3g)\n", what, i, got[i], want[i], err);
      bad++;
    }
  }
  if (bad) fprintf(stderr, "%s: %zu of %zu values differ\n", what, bad, n);
  return bad;
}

cl_mem test_upload(const float *host, size_t n) {
  cl_mem m = NULL;
  if (fm_device_alloc(test_device(), n * sizeof(float), "test", &m) != FM_OK ||
      fm_device_write(test_device(), m, 0, n * sizeof(float), host) != FM_OK) {
    fprintf(stderr, "upload failed: %s\n", fm_error_message());
    exit(1);
  }
  return m;
}

cl_mem test_zeros(size_t n) {
  cl_mem m = NULL;
  if (fm_device_alloc(test_device(), n * sizeof(float), "test", &m) != FM_OK ||
      fm_device_fill(test_device(), m, 0, n, 0.0f) != FM_OK) {
    fprintf(stderr, "alloc failed: %s\n", fm_error_message());
    exit(1);
  }
  return m;
}

float *test_download(cl_mem mem, size_t n) {
  float *host = malloc(n * sizeof(float));
  if (!host || fm_device_read(test_device(), mem, 0, n * sizeof(float), host) != FM_OK) {
    fprintf(stderr, "download failed: %s\n", fm_error_message());
    exit(1);
  }
  return host;
}

int test_run_suite(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_set_fork_status(sr, CK_NOFORK);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  fm_device_destroy(device);
  device = NULL;
  return failed == 0 ? 0 : 1;
}

double test_act(fm_activation a, double z) {
  switch (a) {
  case FM_ACT_SILU: return z / (1 + exp(-z));
  case FM_ACT_RELU: return z > 0 ? z : 0;
  case FM_ACT_TANH: return tanh(z);
  case FM_ACT_GELU: return 0.5 * z * (1 + erf(z / sqrt(2.0)));
  }
  return z;
}

double test_act_derivative(fm_activation a, double z) {
  double s = 1 / (1 + exp(-z));
  switch (a) {
  case FM_ACT_SILU: return s * (1 + z * (1 - s));
  case FM_ACT_RELU: return z > 0 ? 1 : 0;
  case FM_ACT_TANH: return 1 - tanh(z) * tanh(z);
  case FM_ACT_GELU:
    return 0.5 * (1 + erf(z / sqrt(2.0))) + z * exp(-0.5 * z * z) / sqrt(2 * 3.14159265358979);
  }
  return 1;
}

#define S_ (4 * 0.70710678118654752 / 1.414)
const double test_8g_centre[8][2] = {{4 / 1.414, 0}, {-4 / 1.414, 0}, {0, 4 / 1.414},
                                     {0, -4 / 1.414}, {S_, S_},       {S_, -S_},
                                     {-S_, S_},       {-S_, -S_}};
#undef S_

int test_8g_nearest(double x, double y, double *distance) {
  int best = 0;
  double best_d = INFINITY;
  for (int k = 0; k < 8; k++) {
    double d = hypot(x - test_8g_centre[k][0], y - test_8g_centre[k][1]);
    if (d < best_d) best_d = d, best = k;
  }
  if (distance) *distance = best_d;
  return best;
}

const char *test_workdir(const char *name) {
  static char dir[256];
  const char *index = getenv("FMCL_TEST_DEVICE");
  if (index && *index) setenv("FMCL_DEVICE", index, 0);
  snprintf(dir, sizeof dir, "/tmp/fmcl-test-%s-%d", name, (int)getpid());
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", dir, dir);
  if (system(cmd) != 0) {
    fprintf(stderr, "cannot make the test folder %s\n", dir);
    exit(1);
  }
  return dir;
}

fm_device_info test_binary_device(void) {
  fm_device_info *list = NULL, chosen;
  int count = 0;
  if (fm_device_list(&list, &count) != FM_OK || count == 0) {
    fprintf(stderr, "no OpenCL device for the tests: %s\n", fm_error_message());
    exit(1);
  }
  const char *index = getenv("FMCL_DEVICE");
  int want = index && *index ? atoi(index) : -1, at = 0;
  for (int i = count - 1; i >= 0; i--)
    if (list[i].is_gpu) at = i;
  for (int i = 0; i < count; i++)
    if (list[i].index == want) at = i;
  chosen = list[at];
  free(list);
  return chosen;
}

int test_run_suite_in(Suite *s, const char *workdir) {
  int rc = test_run_suite(s);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf %s", workdir);
  if (rc == 0 && system(cmd) != 0) return 1;
  return rc;
}

/* Under the sanitizers the programs a test runs keep ASan and UBSan but not the leak check:
 * LeakSanitizer's stop-the-world tracer now and then crashes ("Tracer caught signal 11")
 * while the OpenCL driver's worker threads exit, and ends a healthy run with status 1. The
 * library's own leaks are checked in process, by every suite. */
static void children_skip_the_leak_check(void) {
  const char *now = getenv("ASAN_OPTIONS");
  if (now && strstr(now, "detect_leaks")) return; /* the caller chose */
  char options[1024];
  snprintf(options, sizeof options, "%s%sdetect_leaks=0", now ? now : "", now && *now ? ":" : "");
  setenv("ASAN_OPTIONS", options, 1);
}

int test_shell(const char *cmd, char **out) {
  children_skip_the_leak_check();
  size_t len = strlen(cmd) + 8;
  char *full = malloc(len);
  ck_assert_ptr_nonnull(full);
  snprintf(full, len, "%s 2>&1", cmd);
  FILE *p = popen(full, "r");
  free(full);
  ck_assert_ptr_nonnull(p);
  size_t cap = 1 << 16, n = 0, got;
  char *buf = malloc(cap);
  ck_assert_ptr_nonnull(buf);
  while ((got = fread(buf + n, 1, cap - n - 1, p)) > 0) {
    n += got;
    if (n + 1 == cap) {
      buf = realloc(buf, cap *= 2);
      ck_assert_ptr_nonnull(buf);
    }
  }
  buf[n] = '\0';
  int status = pclose(p);
  if (out) *out = buf;
  else free(buf);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

char *test_read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot read %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *text = malloc((size_t)n + 1);
  ck_assert_ptr_nonnull(text);
  ck_assert_int_eq(fread(text, 1, (size_t)n, f), n);
  text[n] = '\0';
  fclose(f);
  return text;
}

void test_write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  ck_assert_msg(f != NULL, "cannot write %s", path);
  fputs(text, f);
  fclose(f);
}

test_ode test_ode_make(const char *source, const char *name, size_t n) {
  static const char *built_from;
  static cl_program program;
  if (built_from != source) {
    if (program) clReleaseProgram(program);
    program = NULL;
    ck_fm(fm_device_build(test_device(), "test ode", source, "", &program));
    built_from = source;
  }
  cl_int err;
  test_ode o = {clCreateKernel(program, name, &err), n};
  ck_assert_int_eq(err, CL_SUCCESS);
  return o;
}

fm_status test_ode_rhs(void *ctx, cl_mem x, float t, cl_mem out) {
  test_ode *o = ctx;
  cl_uint n = (cl_uint)o->n;
  clSetKernelArg(o->k, 0, sizeof x, &x);
  clSetKernelArg(o->k, 1, sizeof out, &out);
  clSetKernelArg(o->k, 2, sizeof t, &t);
  clSetKernelArg(o->k, 3, sizeof n, &n);
  return fm_device_launch(test_device(), o->k, 1, &o->n, NULL);
}
