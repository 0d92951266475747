/* Shared test helpers: the device every suite runs on, seeded random inputs, and
 * comparisons with tolerance that print the first mismatches. */
#ifndef FMCL_TEST_SUPPORT_H
#define FMCL_TEST_SUPPORT_H

#include <check.h>
#include <stddef.h>

#include "fmcl/fmcl.h"

/* The device for kernel tests: FMCL_TEST_DEVICE (an index) or the default device. Opened
 * once per process. */
fm_device *test_device(void);

/* Fails the test with the library's message when st is not FM_OK. */
#define ck_fm(expr)                                                                        \
  do {                                                                                     \
    fm_status st_ = (expr);                                                                \
    ck_assert_msg(st_ == FM_OK, "%s failed: %s: %s", #expr, fm_status_str(st_),            \
                  fm_error_message());                                                     \
  } while (0)

/* A program run's exit status against the expected one; a mismatch shows what it printed
 * (out: the char * the run filled in). */
#define ck_exit(call, want, out)                                                           \
  do {                                                                                     \
    int rc_ = (call), want_ = (want);                                                      \
    ck_assert_msg(rc_ == want_, "%s: exit %d, expected %d; it printed:\n%s", #call, rc_,    \
                  want_, (out) ? (out) : "(nothing)");                                     \
  } while (0)

/* Uniform numbers in [lo, hi) from a seed (host side, not the library's generator). */
/* Whether the test device is a simulator (oclgrind checks every access of every work-item,
 * about a thousand times slower than a CPU): suites shrink their largest sizes there,
 * keeping them odd and over several work-groups. */
int test_device_is_simulator(void);

void test_fill_uniform(float *x, size_t n, unsigned seed, float lo, float hi);

/* Counts i with |got - want| > atol + rtol |want| and prints the first few. */
size_t test_mismatches(const char *what, const float *got, const double *want, size_t n,
                       double atol, double rtol);

/* A device buffer holding a copy of host floats. */
cl_mem test_upload(const float *host, size_t n);
/* A zeroed device buffer of n floats. */
cl_mem test_zeros(size_t n);
/* Reads n floats back into a malloc'd array. */
float *test_download(cl_mem mem, size_t n);

/* A right-hand side dx/dt = f(x, t) for the solver tests: kernel name of source, with
 * arguments (x, out, t, n) and one work-item per element. The program of a source is built
 * once per process. Pass test_ode_rhs and &ode to fm_solver_integrate; release k. */
typedef struct test_ode {
  cl_kernel k;
  size_t n;
} test_ode;
test_ode test_ode_make(const char *source, const char *name, size_t n);
fm_status test_ode_rhs(void *ctx, cl_mem x, float t, cl_mem out);

/* Reference activations in double, as cl/activation.cl defines them (GELU exact). */
double test_act(fm_activation a, double z);
double test_act_derivative(fm_activation a, double z);

/* The 8gaussians toy set: its mode centres (4 c_k / 1.414, c_k the unit vectors at 45
 * degree steps, in the generator's order), the spread of each mode per coordinate, and
 * the mode nearest (x, y) with the distance to it. */
extern const double test_8g_centre[8][2];
#define TEST_8G_SD (0.5 / 1.414)
int test_8g_nearest(double x, double y, double *distance);

/* Runs a shell command with its standard error merged into its output, which *out gets
 * (malloc'd; out may be NULL). Returns the exit status, or 128 + the signal that ended it. */
int test_shell(const char *cmd, char **out);

/* A whole file as a malloc'd string; fails the test when it cannot be read. */
char *test_read_file(const char *path);

/* Writes text to a file (fails the test when it cannot). */
void test_write_file(const char *path, const char *text);

/* A fresh folder /tmp/fmcl-test-<name>-<pid> for the files of a suite (exits when it cannot
 * be made), and the suite run that removes it when every test passed. It also points the
 * fmcl program the suite runs at FMCL_TEST_DEVICE (as FMCL_DEVICE) when that is set. */
const char *test_workdir(const char *name);
int test_run_suite_in(Suite *s, const char *workdir);

/* What the fmcl program opens by default in this test run: FMCL_DEVICE's device, else the
 * first GPU, else the first device. */
fm_device_info test_binary_device(void);

/* Runs the suite without forking (OpenCL state does not survive fork) and returns the
 * process exit status. */
int test_run_suite(Suite *s);

#endif
