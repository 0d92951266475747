/* Config: defaults, the JSON overlay, errors that name the key path or the line and
 * column, --set overrides, and the resolved config round trip. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device_list.h"
#include "internal.h"
#include "support.h"

static fm_status parse(fm_config *cfg, const char *text) {
  fm_config_defaults(cfg);
  return fm_config_parse(cfg, text, strlen(text), "test.json");
}

static void expect_error(const char *text, const char *needle) {
  fm_config cfg;
  fm_status st = parse(&cfg, text);
  ck_assert_int_eq(st, FM_ERR_CONFIG);
  ck_assert_msg(strstr(fm_error_message(), needle), "message '%s' lacks '%s'", fm_error_message(),
                needle);
}

START_TEST(defaults_are_the_reference_recipe) {
  fm_config cfg;
  fm_config_defaults(&cfg);
  ck_assert_int_eq(cfg.model.n_hidden, 3);
  ck_assert_int_eq(cfg.model.hidden[0], 256);
  ck_assert_int_eq(cfg.model.activation, FM_ACT_SILU);
  ck_assert_int_eq(cfg.train.batch, 512);
  ck_assert_int_eq(cfg.train.steps, 5000);
  ck_assert_double_eq(cfg.train.lr, 1e-3);
  ck_assert_double_eq(cfg.path.sigma_min, 1e-4);
  ck_assert_int_eq(cfg.sample.solver, FM_SOLVER_RK4);
  ck_assert_int_eq(cfg.sample.steps, 25);
  ck_assert_int_eq(fm_config_validate(&cfg), FM_OK);
}
END_TEST

START_TEST(empty_name_follows_the_data_set) {
  fm_config cfg;
  fm_config_defaults(&cfg);
  ck_fm(fm_config_set(&cfg, "data.name=moons"));
  fm_config_resolve(&cfg);
  ck_assert_str_eq(cfg.name, "moons");
  char dir[256];
  fm_config_run_dir(&cfg, dir, sizeof dir);
  ck_assert_str_eq(dir, "runs/moons");
  ck_fm(fm_config_set(&cfg, "name=mine"));
  fm_config_resolve(&cfg);
  fm_config_run_dir(&cfg, dir, sizeof dir);
  ck_assert_str_eq(dir, "runs/mine");
}
END_TEST

START_TEST(config_overlays_nested_keys) {
  fm_config cfg;
  ck_fm(parse(&cfg, "{\"name\": \"m\", \"seed\": 7, \"data\": {\"name\": \"moons\"},"
                    " \"model\": {\"hidden\": [64, 32], \"activation\": \"tanh\"},"
                    " \"train\": {\"batch\": 128, \"lr\": 0.01},"
                    " \"sample\": {\"solver\": \"heun\"}, \"device\": {\"type\": \"cpu\"}}"));
  ck_assert_str_eq(cfg.name, "m");
  ck_assert_uint_eq(cfg.seed, 7);
  ck_assert_str_eq(cfg.data.name, "moons");
  ck_assert_int_eq(cfg.model.n_hidden, 2);
  ck_assert_int_eq(cfg.model.hidden[1], 32);
  ck_assert_int_eq(cfg.model.activation, FM_ACT_TANH);
  ck_assert_int_eq(cfg.train.batch, 128);
  ck_assert_double_eq(cfg.train.lr, 0.01);
  ck_assert_int_eq(cfg.sample.solver, FM_SOLVER_HEUN);
  ck_assert_int_eq(cfg.device.type, FM_DEVICE_CPU);
  ck_assert_int_eq(cfg.train.steps, 5000); /* untouched keys keep their defaults */
}
END_TEST

START_TEST(config_rejects_unknown_key_with_its_path) {
  expect_error("{\"train\": {\"bacth\": 4}}", "\"train.bacth\"");
  expect_error("{\"train\": {\"bacth\": 4}}", "batch"); /* lists the known keys */
  expect_error("{\"modle\": {}}", "\"modle\"");
}
END_TEST

START_TEST(config_rejects_wrong_types_naming_the_key) {
  expect_error("{\"train\": {\"batch\": -4}}", "train.batch: expected a positive integer");
  expect_error("{\"train\": {\"batch\": -4}}", "got -4");
  expect_error("{\"train\": {\"batch\": 2.5}}", "train.batch");
  expect_error("{\"train\": {\"batch\": \"512\"}}", "got \"512\"");
  expect_error("{\"train\": {\"lr\": 0}}", "train.lr");
  expect_error("{\"train\": 5}", "train: expected an object");
  expect_error("{\"model\": {\"activation\": \"swish\"}}", "model.activation");
  expect_error("{\"model\": {\"hidden\": []}}", "model.hidden");
  expect_error("{\"model\": {\"hidden\": [64, \"x\"]}}", "model.hidden[1]");
  expect_error("{\"data\": {\"name\": \"spirals\"}}", "unknown data set");
  expect_error("{\"seed\": -1}", "seed");
  expect_error("{\"train\": {\"steps\": 1e300}}", "train.steps");
}
END_TEST

START_TEST(config_syntax_error_gives_line_and_column) {
  expect_error("{\n  \"train\": {\n    \"batch\": 4,,\n  }\n}", "test.json:3:");
  expect_error("", "empty");
  expect_error("[1, 2]", "expected a JSON object");
  expect_error("{} trailing", "unexpected text");
}
END_TEST

START_TEST(config_rejects_deep_nesting) {
  char text[4096] = "";
  for (int i = 0; i < 200; i++) strcat(text, "{\"train\":");
  strcat(text, "1");
  for (int i = 0; i < 200; i++) strcat(text, "}");
  fm_config cfg;
  ck_assert_int_eq(parse(&cfg, text), FM_ERR_CONFIG);
  ck_assert_msg(strstr(fm_error_message(), "nested more than 8 levels"), "%s", fm_error_message());
  /* Three levels is no config either, but the key says why. */
  ck_assert_int_eq(parse(&cfg, "{\"train\": {\"steps\": {\"x\": 1}}}"), FM_ERR_CONFIG);
  ck_assert_msg(strstr(fm_error_message(), "train.steps"), "%s", fm_error_message());
}
END_TEST

START_TEST(set_overrides_any_key) {
  fm_config cfg;
  fm_config_defaults(&cfg);
  ck_fm(fm_config_set(&cfg, "train.steps=100"));
  ck_fm(fm_config_set(&cfg, "model.hidden=[16,16]"));
  ck_fm(fm_config_set(&cfg, "sample.solver=euler"));
  ck_fm(fm_config_set(&cfg, "name=123"));
  ck_fm(fm_config_set(&cfg, "data.name=checkerboard"));
  ck_fm(fm_config_set(&cfg, "path.sigma_min=0"));
  ck_assert_int_eq(cfg.train.steps, 100);
  ck_assert_int_eq(cfg.model.n_hidden, 2);
  ck_assert_int_eq(cfg.sample.solver, FM_SOLVER_EULER);
  ck_assert_str_eq(cfg.name, "123");
  ck_assert_str_eq(cfg.data.name, "checkerboard");
  ck_assert_double_eq(cfg.path.sigma_min, 0.0);
  ck_assert_int_eq(fm_config_set(&cfg, "train.nope=1"), FM_ERR_CONFIG);
  ck_assert_msg(strstr(fm_error_message(), "train.nope"), "%s", fm_error_message());
  ck_assert_int_eq(fm_config_set(&cfg, "train.steps"), FM_ERR_CONFIG);
  ck_assert_int_eq(fm_config_set(&cfg, "train.batch=abc"), FM_ERR_CONFIG);
  ck_assert_msg(strstr(fm_error_message(), "train.batch"), "%s", fm_error_message());
}
END_TEST

/* A time grid runs from 0 to 1, increases, sets the steps, and is for fixed-step solvers;
 * a shift is positive. */
START_TEST(time_grids_are_checked_and_set_the_steps) {
  fm_config cfg;
  fm_config_defaults(&cfg);
  ck_fm(fm_config_set(&cfg, "sample.times=[0,0.5,0.8,1]"));
  fm_config_resolve(&cfg);
  ck_assert_int_eq(cfg.sample.steps, 3);
  ck_fm(fm_config_validate(&cfg));
  static const struct {
    const char *set, *message;
  } bad[] = {
      {"sample.times=[0,0.6,0.5,1]", "sample.times must increase: time 2 is 0.5 after 0.6"},
      {"sample.times=[0,0.5,0.9]", "sample.times must run from 0 to 1"},
      {"sample.times=[0.1,1]", "sample.times must run from 0 to 1"},
      {"sample.times=[1]", "sample.times must run from 0 to 1"},
  };
  for (size_t i = 0; i < FM_ARRAY_LEN(bad); i++) {
    fm_config_defaults(&cfg);
    ck_fm(fm_config_set(&cfg, bad[i].set));
    ck_assert_int_eq(fm_config_validate(&cfg), FM_ERR_CONFIG);
    ck_assert_msg(strstr(fm_error_message(), bad[i].message), "%s: %s", bad[i].set,
                  fm_error_message());
  }
  fm_config_defaults(&cfg);
  ck_assert_int_eq(fm_config_set(&cfg, "sample.times=[0,1.5]"), FM_ERR_CONFIG);
  ck_assert_msg(strstr(fm_error_message(), "sample.times[1]"), "%s", fm_error_message());
  ck_assert_int_eq(fm_config_set(&cfg, "sample.time_shift=0"), FM_ERR_CONFIG);
  ck_assert_msg(strstr(fm_error_message(), "sample.time_shift"), "%s", fm_error_message());
  ck_assert_int_eq(fm_config_set(&cfg, "sample.time_shift=-2"), FM_ERR_CONFIG);
  ck_fm(fm_config_set(&cfg, "sample.time_shift=3"));
  ck_fm(fm_config_set(&cfg, "sample.solver=dopri5"));
  ck_assert_int_eq(fm_config_validate(&cfg), FM_ERR_CONFIG);
  ck_assert_msg(strstr(fm_error_message(), "dopri5 chooses its own"), "%s", fm_error_message());
}
END_TEST

START_TEST(ot_class_needs_a_class_conditional_model) {
  fm_config cfg;
  fm_config_defaults(&cfg);
  ck_fm(fm_config_set(&cfg, "path.coupling=ot_class"));
  ck_assert_int_eq(fm_config_validate(&cfg), FM_ERR_CONFIG);
  ck_assert_msg(strstr(fm_error_message(), "set model.classes"), "%s", fm_error_message());
  ck_fm(fm_config_set(&cfg, "model.classes=8"));
  ck_fm(fm_config_validate(&cfg));
}
END_TEST

/* A residual model's widths alternate the stream's with each block's inner width. */
START_TEST(residual_models_need_blocks_of_the_stream_width) {
  const char *bad[] = {"model.hidden=[64, 128]", "model.hidden=[64, 128, 32]",
                       "model.hidden=[64, 128, 64, 128]", "model.hidden=[64]"};
  for (int i = 0; i < 4; i++) {
    fm_config cfg;
    fm_config_defaults(&cfg);
    ck_fm(fm_config_set(&cfg, "model.residual=true"));
    ck_fm(fm_config_set(&cfg, bad[i]));
    ck_assert_int_eq(fm_config_validate(&cfg), FM_ERR_CONFIG);
    ck_assert_msg(strstr(fm_error_message(), "[w, f1, w, f2, w, ...]"), "%s: %s", bad[i],
                  fm_error_message());
  }
  fm_config cfg;
  fm_config_defaults(&cfg);
  ck_fm(fm_config_set(&cfg, "model.residual=true"));
  ck_fm(fm_config_set(&cfg, "model.hidden=[64, 128, 64, 32, 64]"));
  ck_fm(fm_config_validate(&cfg));
  /* The same widths as an MLP are another model (the pinned hash of the defaults, in
   * model_hash_follows_only_what_is_trained, is the MLP's from before the key). */
  fm_config plain;
  fm_config_defaults(&plain);
  ck_fm(fm_config_set(&plain, "model.hidden=[64, 128, 64, 32, 64]"));
  ck_assert_uint_ne(fm_config_model_hash(&cfg), fm_config_model_hash(&plain));
}
END_TEST

/* One device per local rank of an MPI job: a list of its own, and a clear word for a list
 * given to the key of one device. */
START_TEST(device_indices_name_a_device_per_local_rank) {
  fm_config cfg;
  fm_config_defaults(&cfg);
  ck_assert_int_eq(cfg.device.n_indices, 0);
  ck_fm(fm_config_set(&cfg, "device.indices=[1,0,2]"));
  ck_assert_int_eq(cfg.device.n_indices, 3);
  ck_assert_int_eq(cfg.device.indices[0], 1);
  ck_assert_int_eq(cfg.device.indices[2], 2);
  ck_assert_int_eq(fm_config_set(&cfg, "device.index=[0,1]"), FM_ERR_CONFIG);
  ck_assert_msg(strstr(fm_error_message(), "set device.indices"), "%s", fm_error_message());
  ck_assert_int_eq(fm_config_set(&cfg, "device.indices=[-2]"), FM_ERR_CONFIG);
}
END_TEST

/* Without an index, the ranks of a node take the selected devices in turn. */
START_TEST(the_nth_selected_device_goes_to_the_nth_local_rank) {
  fm_device_info list[4] = {0};
  for (int i = 0; i < 4; i++) {
    list[i].index = i;
    list[i].is_gpu = i != 1;
    snprintf(list[i].name, sizeof list[i].name, i == 1 ? "cpu" : "gpu %d", i);
    snprintf(list[i].type, sizeof list[i].type, i == 1 ? "CPU" : "GPU");
  }
  fm_device_select sel = {.kind = FM_DEVICE_AUTO, .index = -1};
  int want[] = {0, 2, 3, 0}; /* auto takes the GPUs, wrapping around */
  for (int r = 0; r < 4; r++) {
    sel.nth = r;
    ck_assert_int_eq(fm_device_choose(list, 4, &sel), want[r]);
  }
  sel.index = 1;
  ck_assert_int_eq(fm_device_choose(list, 4, &sel), 1); /* an index wins */
}
END_TEST

START_TEST(resolved_config_round_trips) {
  fm_config a, b;
  fm_config_defaults(&a);
  ck_fm(fm_config_set(&a, "model.hidden=[8,9,10]"));
  ck_fm(fm_config_set(&a, "seed=123456789"));
  ck_fm(fm_config_set(&a, "train.lr=0.000123"));
  ck_fm(fm_config_set(&a, "device.name=pthread"));
  char *json = fm_config_to_json(&a);
  ck_fm(parse(&b, json));
  char *again = fm_config_to_json(&b);
  ck_assert_str_eq(json, again);
  ck_assert_int_eq(memcmp(&a.model, &b.model, sizeof a.model), 0);
  ck_assert_double_eq(a.train.lr, b.train.lr);
  ck_assert_uint_eq(b.seed, 123456789);
  free(json);
  free(again);
}
END_TEST

START_TEST(model_hash_follows_only_what_is_trained) {
  fm_config a, b;
  fm_config_defaults(&a);
  b = a;
  ck_fm(fm_config_set(&b, "sample.n=5"));
  ck_fm(fm_config_set(&b, "device.type=cpu"));
  ck_fm(fm_config_set(&b, "train.steps=7"));
  ck_assert_uint_eq(fm_config_model_hash(&a), fm_config_model_hash(&b));
  ck_fm(fm_config_set(&b, "model.hidden=[256,256,128]"));
  ck_assert_uint_ne(fm_config_model_hash(&a), fm_config_model_hash(&b));
  /* Keys added since leave the hash of the models they do not touch as it was, so those
   * checkpoints still resume: the default recipe's hash in fmcl 0.1.0's first checkpoints
   * of format 4. */
  fm_config_resolve(&a);
  ck_assert_uint_eq(fm_config_model_hash(&a), 2883796887241019676ull);
  ck_fm(fm_config_set(&a, "path.ot_reg=0.2")); /* read by sinkhorn only */
  ck_assert_uint_eq(fm_config_model_hash(&a), 2883796887241019676ull);
  ck_fm(fm_config_set(&a, "path.coupling=sinkhorn"));
  b = a;
  ck_fm(fm_config_set(&b, "path.ot_reg=0.1"));
  ck_assert_uint_ne(fm_config_model_hash(&a), fm_config_model_hash(&b));
}
END_TEST

START_TEST(config_file_errors_name_the_file) {
  fm_config cfg;
  fm_config_defaults(&cfg);
  ck_assert_int_eq(fm_config_load(&cfg, "/nonexistent/x.json"), FM_ERR_CONFIG);
  ck_assert_msg(strstr(fm_error_message(), "/nonexistent/x.json"), "%s", fm_error_message());
  /* A folder opens but cannot be read; a huge file is refused before it is parsed. */
  char dir[256], big[300], cmd[700];
  snprintf(dir, sizeof dir, "/tmp/fmcl-test-config-%d", (int)getpid());
  snprintf(big, sizeof big, "%s/big.json", dir);
  snprintf(cmd, sizeof cmd, "mkdir -p %s && truncate -s 65M %s", dir, big);
  ck_assert_int_eq(test_shell(cmd, NULL), 0);
  ck_assert_int_eq(fm_config_load(&cfg, dir), FM_ERR_CONFIG);
  ck_assert_msg(strstr(fm_error_message(), "read failed"), "%s", fm_error_message());
  ck_assert_int_eq(fm_config_load(&cfg, big), FM_ERR_CONFIG);
  ck_assert_msg(strstr(fm_error_message(), "larger than 64 MiB"), "%s", fm_error_message());
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  ck_assert_int_eq(test_shell(cmd, NULL), 0);
}
END_TEST

START_TEST(every_shipped_config_loads) {
  const char *names[] = {"8gaussians", "moons",    "circles",   "checkerboard",
                         "2spirals",   "pinwheel", "swissroll", "rings"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/configs/%s.json", FMCL_SOURCE_DIR, names[i]);
    fm_config cfg;
    fm_config_defaults(&cfg);
    ck_fm(fm_config_load(&cfg, path));
    ck_fm(fm_config_validate(&cfg));
    ck_assert_str_eq(cfg.data.name, names[i]);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("config");
  TCase *tc = tcase_create("config");
  tcase_add_test(tc, defaults_are_the_reference_recipe);
  tcase_add_test(tc, device_indices_name_a_device_per_local_rank);
  tcase_add_test(tc, time_grids_are_checked_and_set_the_steps);
  tcase_add_test(tc, ot_class_needs_a_class_conditional_model);
  tcase_add_test(tc, residual_models_need_blocks_of_the_stream_width);
  tcase_add_test(tc, the_nth_selected_device_goes_to_the_nth_local_rank);
  tcase_add_test(tc, empty_name_follows_the_data_set);
  tcase_add_test(tc, config_overlays_nested_keys);
  tcase_add_test(tc, config_rejects_unknown_key_with_its_path);
  tcase_add_test(tc, config_rejects_wrong_types_naming_the_key);
  tcase_add_test(tc, config_syntax_error_gives_line_and_column);
  tcase_add_test(tc, config_rejects_deep_nesting);
  tcase_add_test(tc, set_overrides_any_key);
  tcase_add_test(tc, resolved_config_round_trips);
  tcase_add_test(tc, model_hash_follows_only_what_is_trained);
  tcase_add_test(tc, config_file_errors_name_the_file);
  tcase_add_test(tc, every_shipped_config_loads);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
