/* The shape of the source tree: every module's includes point down one ordered list of
 * layers (so there is no cycle), the config depends on nothing but cJSON and the file
 * reader, and no source file outgrows its concept. A module is a name: include/fmcl/x.h,
 * src/x.h and src/x.c together. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "support.h"

/* The layers, lowest first: a module may include only modules of a lower rank. */
static const struct {
  const char *module;
  int rank;
} layers[] = {
    /* numbers shared with the kernels; errors and the shared enums; messages and stop
     * requests */
    {"constants", 0},
    {"status", 1}, {"types", 1}, {"report", 2},
    /* host utilities */
    {"fileio", 2}, {"rng", 2}, {"flat", 2}, {"progress", 3}, {"assignment", 3}, {"ranks", 3},
    /* the config, data and files on the host; the kernel sources */
    {"config", 3}, {"data", 3}, {"metrics", 4}, {"kernels", 3}, {"program", 3},
    {"idx", 4}, {"datafile", 5}, {"checkpoint", 4}, {"plot", 5},
    /* the device and what runs on it */
    {"device", 4}, {"gemm", 5}, {"auction", 5}, {"layer", 5}, {"loss", 5}, {"optim", 5},
    {"mlp", 6}, {"path", 6}, {"solver", 6}, {"likelihood", 7}, {"sample", 7}, {"safetensors", 7},
    /* the config turned into parameters, tuning files, data sets */
    {"recipe", 8}, {"tuning", 8}, {"dataset", 8},
    /* device + tuning + model; the training step; evaluation; the run folder */
    {"engine", 9}, {"train", 9}, {"evaluate", 9}, {"rundir", 10}, {"reflow", 10},
    {"train_loop", 11},
    /* the commands */
    {"run", 12}, {"tune", 12}, {"bench", 12},
    {"fmcl", 13}, /* the header that includes the whole API */
    {"main", 14},
};

/* Headers that are the private half of another module. */
static const char *const aliases[][2] = {
    {"internal", "status"}, {"plot_frame", "plot"}, {"figure", "plot"}, {"gemm_gpu", "gemm"},
    {"device_list", "device"}, {"device_kernels", "device"}, {"device_state", "device"},
    {"run_saved", "run"}};

static const char *module_of(const char *name) {
  for (size_t i = 0; i < FM_ARRAY_LEN(aliases); i++)
    if (strcmp(aliases[i][0], name) == 0) return aliases[i][1];
  return name;
}

static int rank_of(const char *module) {
  for (size_t i = 0; i < FM_ARRAY_LEN(layers); i++)
    if (strcmp(layers[i].module, module) == 0) return layers[i].rank;
  return -1;
}

/* The module a file belongs to: its name without folder and extension, through aliases. */
static void file_module(const char *file, char *out, size_t size) {
  const char *base = strrchr(file, '/');
  base = base ? base + 1 : file;
  char name[128];
  fm_strlcpy(name, base, sizeof name);
  char *dot = strrchr(name, '.');
  if (dot) *dot = '\0';
  fm_strlcpy(out, module_of(name), size);
}

typedef struct edge {
  char from[64], to[64], file[300];
} edge;

static edge edges[2048];
static int n_edges;

static int count_lines(const char *text) {
  int n = 0;
  for (; *text; text++) n += *text == '\n';
  return n;
}

/* Records the quoted includes of path; returns the file's text (malloc'd). */
static char *scan(const char *path) {
  char *text = test_read_file(path), module[64];
  file_module(path, module, sizeof module);
  for (char *p = strstr(text, "#include \""); p; p = strstr(p + 1, "#include \"")) {
    char target[128];
    if (sscanf(p, "#include \"%127[^\"]\"", target) != 1) continue;
    char to[64];
    file_module(target, to, sizeof to);
    if (strcmp(to, module) == 0) continue;
    ck_assert_int_lt(n_edges, (int)FM_ARRAY_LEN(edges));
    edge *e = &edges[n_edges++];
    fm_strlcpy(e->from, module, sizeof e->from);
    fm_strlcpy(e->to, to, sizeof e->to);
    fm_strlcpy(e->file, path, sizeof e->file);
  }
  return text;
}

/* Scans every .c and .h file of a folder; calls check(path, text) on each. */
static int scan_folder(const char *folder, void (*check)(const char *, const char *)) {
  DIR *d = opendir(folder);
  ck_assert_msg(d != NULL, "cannot open %s", folder);
  struct dirent *e;
  int files = 0;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len < 3 || (strcmp(e->d_name + len - 2, ".c") && strcmp(e->d_name + len - 2, ".h")))
      continue;
    char path[600];
    snprintf(path, sizeof path, "%s/%s", folder, e->d_name);
    char *text = scan(path);
    if (check) check(path, text);
    free(text);
    files++;
  }
  closedir(d);
  return files;
}

static void scan_tree(void (*check)(const char *, const char *)) {
  char src[512], inc[512];
  snprintf(src, sizeof src, "%s/src", FMCL_SOURCE_DIR);
  snprintf(inc, sizeof inc, "%s/include/fmcl", FMCL_SOURCE_DIR);
  n_edges = 0;
  ck_assert_int_gt(scan_folder(src, check), 20);
  ck_assert_int_gt(scan_folder(inc, check), 20);
}

START_TEST(includes_point_down_the_layers) {
  scan_tree(NULL);
  int bad = 0;
  for (int i = 0; i < n_edges; i++) {
    const edge *e = &edges[i];
    int from = rank_of(e->from), to = rank_of(e->to);
    if (from < 0 || to < 0) {
      fprintf(stderr, "%s: module %s is not in tests/unit/test_layout.c's layers\n", e->file,
              from < 0 ? e->from : e->to);
      bad++;
    } else if (to >= from) {
      fprintf(stderr, "%s: %s (layer %d) includes %s (layer %d); includes must point to a "
              "lower layer\n", e->file, e->from, from, e->to, to);
      bad++;
    }
  }
  ck_assert_msg(bad == 0, "%d includes break the layering (listed above)", bad);
}
END_TEST

/* Depth-first search for a cycle from module m (colour: 0 new, 1 on the path, 2 done). */
static int colour_of[64];

static int find_cycle(int m) {
  colour_of[m] = 1;
  for (int i = 0; i < n_edges; i++) {
    if (rank_of(edges[i].from) < 0 || strcmp(edges[i].from, layers[m].module) != 0) continue;
    int t = 0;
    while (t < (int)FM_ARRAY_LEN(layers) && strcmp(layers[t].module, edges[i].to) != 0) t++;
    if (t == (int)FM_ARRAY_LEN(layers)) continue;
    if (colour_of[t] == 1) {
      fprintf(stderr, "include cycle through %s -> %s (%s)\n", layers[m].module, layers[t].module,
              edges[i].file);
      return 1;
    }
    if (colour_of[t] == 0 && find_cycle(t)) return 1;
  }
  colour_of[m] = 2;
  return 0;
}

START_TEST(modules_include_each_other_without_cycles) {
  scan_tree(NULL);
  ck_assert(FM_ARRAY_LEN(layers) <= FM_ARRAY_LEN(colour_of));
  memset(colour_of, 0, sizeof colour_of);
  for (int m = 0; m < (int)FM_ARRAY_LEN(layers); m++)
    ck_assert_msg(colour_of[m] != 0 || !find_cycle(m), "the modules' includes form a cycle");
}
END_TEST

/* config.c and config.h: the C library, cJSON, the file reader, the error helpers and the
 * shared enums; no OpenCL and no other module. */
static void check_config_includes(const char *path, const char *text) {
  const char *base = strrchr(path, '/') + 1;
  if (strcmp(base, "config.c") != 0 && strcmp(base, "config.h") != 0) return;
  static const char *const allowed[] = {
      "fmcl/config.h", "fmcl/status.h", "fmcl/types.h", "fileio.h", "internal.h", "cjson/cJSON.h",
      "ctype.h", "errno.h", "float.h", "limits.h", "math.h", "stdarg.h", "stddef.h", "stdint.h",
      "stdio.h", "stdlib.h", "string.h"};
  for (const char *p = strstr(text, "#include "); p; p = strstr(p + 1, "#include ")) {
    char target[128];
    if (sscanf(p + 9, "%*1[\"<]%127[^\">]", target) != 1) continue;
    int ok = 0;
    for (size_t i = 0; i < FM_ARRAY_LEN(allowed); i++) ok |= strcmp(target, allowed[i]) == 0;
    ck_assert_msg(ok, "%s includes %s; the config may use only the C library, cJSON, the file "
                  "reader and the shared enums", path, target);
  }
}

START_TEST(config_depends_on_cjson_and_the_file_reader_only) {
  scan_tree(check_config_includes);
}
END_TEST

static void check_size(const char *path, const char *text) {
  const char *base = strrchr(path, '/') + 1;
  int lines = count_lines(text);
  if (strcmp(base, "config.c") == 0) return; /* the schema table: one entry per key */
  int limit = strcmp(base, "run.c") == 0 ? 400 : 700;
  ck_assert_msg(lines <= limit, "%s has %d lines, more than %d: split it by concept", path, lines,
                limit);
}

START_TEST(no_source_file_outgrows_its_concept) {
  scan_tree(check_size);
}
END_TEST

int main(void) {
  Suite *s = suite_create("layout");
  TCase *tc = tcase_create("layout");
  tcase_add_test(tc, includes_point_down_the_layers);
  tcase_add_test(tc, modules_include_each_other_without_cycles);
  tcase_add_test(tc, config_depends_on_cjson_and_the_file_reader_only);
  tcase_add_test(tc, no_source_file_outgrows_its_concept);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
