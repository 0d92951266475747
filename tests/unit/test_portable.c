/* Every program of the program table on every kind of OpenCL compiler: clang's OpenCL
 * front end for SPIR (the compiler inside ROCm, Intel's runtimes and Mesa) at -O0 and -O2
 * leaves no function undefined but OpenCL's builtins, and the device builds each program
 * with -cl-std=CL1.2 and with -cl-opt-disable (a driver that does not inline must still
 * find every helper's body). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "kernels.h"
#include "support.h"

static char work[256];

/* The declared but not defined functions of an LLVM IR file that are not OpenCL builtins
 * (mangled _Z...) or LLVM intrinsics, one per line into out; how many. */
static int undefined_functions(const char *ll_path, char *out, size_t size) {
  FILE *f = fopen(ll_path, "r");
  ck_assert_msg(f != NULL, "no %s", ll_path);
  char line[4096];
  int n = 0;
  out[0] = '\0';
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "declare ", 8) != 0) continue;
    char *at = strchr(line, '@');
    if (!at || strncmp(at, "@_Z", 3) == 0 || strncmp(at, "@llvm.", 6) == 0) continue;
    n++;
    size_t used = strlen(out);
    snprintf(out + used, size - used, "  %s", line);
  }
  fclose(f);
  return n;
}

/* The program's source and options as the device builds it (its tile shape for the GPU
 * products: their defaults). */
static char *program_source(int i, char *options, size_t size) {
  char *source = NULL, origin[512];
  ck_fm(fm_kernels_program_source(fm_kernels_program_name(i), &source, origin, sizeof origin));
  snprintf(options, size, "-DFM_REDUCE_WG=%d %s", FM_REDUCE_WG_MAX,
           fm_kernels_program_options(fm_kernels_program_name(i)));
  return source;
}

START_TEST(clang_spir_compiles_every_program_with_no_undefined_function) {
  if (system("command -v clang-15 >/dev/null 2>&1") != 0) {
    fprintf(stderr, "skipped: clang-15 is not installed (tools/setup.sh installs it)\n");
    return;
  }
  int bad = 0;
  for (int i = 0; i < fm_kernels_program_count(); i++) {
    char options[512], path[600], ll[700], cmd[2400], found[8192];
    char *source = program_source(i, options, sizeof options);
    snprintf(path, sizeof path, "%s/%s.cl", work, fm_kernels_program_name(i));
    test_write_file(path, source);
    free(source);
    for (int o = 0; o < 2; o++) {
      const char *level = o ? "-O2" : "-O0";
      snprintf(ll, sizeof ll, "%s/%s%s.ll", work, fm_kernels_program_name(i), level);
      snprintf(cmd, sizeof cmd, "clang-15 -cl-std=CL1.2 -Xclang -finclude-default-header "
               "-target spir64 %s %s -Wno-pass-failed -S -emit-llvm -o %s %s 2>&1", level,
               options, ll, path);
      char *out = NULL;
      int rc = test_shell(cmd, &out);
      ck_assert_msg(rc == 0, "clang-15 %s failed on program %s:\n%s", level,
                    fm_kernels_program_name(i), out);
      free(out);
      int n = undefined_functions(ll, found, sizeof found);
      if (n) fprintf(stderr, "program %s at %s leaves %d functions undefined:\n%s",
                     fm_kernels_program_name(i), level, n, found);
      bad += n;
    }
  }
  ck_assert_int_eq(bad, 0);
}
END_TEST

/* Each file of cl/ on its own, as a developer compiles it by hand or an editor checks it:
 * its own includes bring what the runtime puts in front of it. */
START_TEST(clang_spir_compiles_every_kernel_file_alone) {
  if (system("command -v clang-15 >/dev/null 2>&1") != 0) {
    fprintf(stderr, "skipped: clang-15 is not installed (tools/setup.sh installs it)\n");
    return;
  }
  DIR *dir = opendir(FMCL_SOURCE_DIR "/cl");
  ck_assert_ptr_nonnull(dir);
  int files = 0;
  for (struct dirent *e; (e = readdir(dir));) {
    size_t len = strlen(e->d_name);
    if (len < 4 || strcmp(e->d_name + len - 3, ".cl") != 0) continue;
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "clang-15 -cl-std=CL1.2 -Xclang -finclude-default-header "
             "-target spir64 -O0 -S -emit-llvm -o %s/alone.ll %s/cl/%s 2>&1", work,
             FMCL_SOURCE_DIR, e->d_name);
    int rc = test_shell(cmd, &out);
    ck_assert_msg(rc == 0, "cl/%s does not compile alone:\n%s", e->d_name, out);
    free(out);
    files++;
  }
  closedir(dir);
  ck_assert_int_ge(files, 10);
}
END_TEST

START_TEST(the_device_builds_every_program_without_optimisation) {
  for (int i = 0; i < fm_kernels_program_count(); i++) {
    for (int o = 0; o < 2; o++) {
      char options[600], label[128];
      char *source = program_source(i, options, sizeof options - 20);
      if (o) strcat(options, " -cl-opt-disable");
      snprintf(label, sizeof label, "%s (%s)", fm_kernels_program_name(i), options);
      cl_program program = NULL;
      ck_fm(fm_device_build(test_device(), label, source, options, &program));
      cl_uint kernels = 0;
      ck_assert_int_eq(clCreateKernelsInProgram(program, 0, NULL, &kernels), CL_SUCCESS);
      ck_assert_uint_gt(kernels, 0);
      clReleaseProgram(program);
      free(source);
    }
  }
}
END_TEST

int main(void) {
  fm_strlcpy(work, test_workdir("portable"), sizeof work);
  Suite *s = suite_create("portable");
  TCase *tc = tcase_create("portable");
  tcase_set_timeout(tc, 900);
  tcase_add_test(tc, clang_spir_compiles_every_program_with_no_undefined_function);
  tcase_add_test(tc, clang_spir_compiles_every_kernel_file_alone);
  tcase_add_test(tc, the_device_builds_every_program_without_optimisation);
  suite_add_tcase(s, tc);
  return test_run_suite_in(s, work);
}
