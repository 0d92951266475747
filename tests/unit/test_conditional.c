/* Class-conditional generation: labels from toy components and data-file columns, label
 * dropout, samples that follow their class, and classifier-free guidance. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"


typedef struct model {
  fm_mlp *mlp;
  fm_trainer *tr;
  fm_points data;
} model;

static model train_conditional(double dropout) {
  model m;
  fm_config cfg;
  fm_config_defaults(&cfg);
  cfg.model.n_hidden = 2;
  cfg.model.hidden[0] = cfg.model.hidden[1] = 64;
  cfg.model.classes = 8;
  cfg.train.batch = 256;
  cfg.train.lr = 3e-3;
  cfg.train.label_dropout = dropout;
  ck_fm(fm_toy_generate("8gaussians", 0, FM_STREAM_DATA_TRAIN, 20000, &m.data));
  fm_mlp_shape shape = fm_recipe_mlp_shape(&cfg, 2);
  ck_fm(fm_mlp_create(test_device(), &shape, 2048, &m.mlp));
  ck_fm(fm_mlp_init(m.mlp, 0));
  ck_fm(fm_trainer_create(m.mlp, &cfg, &m.data, NULL, NULL, &m.tr));
  for (int s = 0; s < 1500; s++) ck_fm(fm_trainer_step(m.tr));
  fm_loss_report r;
  ck_fm(fm_trainer_take_loss(m.tr, &r));
  ck_assert(isfinite(r.mean));
  return m;
}

static void free_model(model *m) {
  fm_trainer_destroy(m->tr);
  fm_mlp_destroy(m->mlp);
  fm_points_free(&m->data);
}

enum { N = 1000 };

static void sample(model *m, int cls, double guidance, float *x, int *labels) {
  fm_sample_params p = {.solver = FM_SOLVER_RK4, .steps = 10, .n = N, .batch = 2048, .seed = 5, .classes = 8, .class_label = cls, .guidance = guidance, .labels = labels};
  long nfe;
  ck_fm(fm_sample_generate(m->mlp, &p, x, NULL, &nfe));
}

START_TEST(samples_follow_their_class) {
  model m = train_conditional(0.0);
  float x[N * 2];
  int labels[N];
  for (int c = 0; c < 8; c += 3) {
    sample(&m, c, 1.0, x, labels);
    int hits = 0;
    for (int i = 0; i < N; i++) {
      ck_assert_int_eq(labels[i], c);
      hits += test_8g_nearest(x[2 * i], x[2 * i + 1], NULL) == c;
    }
    ck_assert_msg(hits > 0.9 * N, "class %d: %d of %d samples at its mode", c, hits, N);
  }
  /* Random classes: each point lands at the mode of the class it was given. */
  sample(&m, -1, 1.0, x, labels);
  int hits = 0, per_class[8] = {0};
  for (int i = 0; i < N; i++) {
    per_class[labels[i]]++;
    hits += test_8g_nearest(x[2 * i], x[2 * i + 1], NULL) == labels[i];
  }
  ck_assert_msg(hits > 0.9 * N, "%d of %d samples at their class's mode", hits, N);
  for (int c = 0; c < 8; c++) ck_assert_msg(per_class[c] > N / 16, "class %d drawn %d times", c, per_class[c]);
  free_model(&m);
}
END_TEST

START_TEST(guidance_sharpens_and_zero_guidance_is_unconditional) {
  model m = train_conditional(0.2);
  float x[N * 2];
  int labels[N];
  double spread[3];
  const double w[3] = {0.0, 1.0, 3.0};
  int at_class[3];
  for (int g = 0; g < 3; g++) {
    sample(&m, 2, w[g], x, labels);
    double sum = 0;
    at_class[g] = 0;
    for (int i = 0; i < N; i++) {
      double d;
      int k = test_8g_nearest(x[2 * i], x[2 * i + 1], &d);
      at_class[g] += k == 2;
      if (k == 2) sum += d;
    }
    spread[g] = at_class[g] ? sum / at_class[g] : 0;
  }
  /* w = 0 ignores the class: about one sample in eight lands at mode 2. */
  ck_assert_msg(at_class[0] < 0.3 * N, "unconditional: %d at mode 2", at_class[0]);
  ck_assert_msg(at_class[1] > 0.9 * N && at_class[2] > 0.9 * N, "%d, %d at mode 2", at_class[1], at_class[2]);
  /* Stronger guidance concentrates the samples of the class. */
  ck_assert_msg(spread[2] < spread[1], "spread with w = 3: %g, w = 1: %g", spread[2], spread[1]);
  free_model(&m);
}
END_TEST

START_TEST(label_column_becomes_the_labels) {
  const char *text = "a,b,cls,c\n1,2,0,3\n4,5,2,6\n";
  fm_points p;
  ck_fm(fm_datafile_parse((const unsigned char *)text, strlen(text), "l.csv", FM_FORMAT_CSV, NULL, &p));
  ck_fm(fm_datafile_take_labels(&p, 2, "l.csv"));
  ck_assert_int_eq(p.dim, 3);
  ck_assert_int_eq(p.label[1], 2);
  ck_assert_float_eq(p.x[3], 4.0f);
  ck_assert_float_eq(p.x[5], 6.0f);
  fm_points_free(&p);
  const char *bad = "1,2,0.5\n";
  ck_fm(fm_datafile_parse((const unsigned char *)bad, strlen(bad), "l.csv", FM_FORMAT_CSV, NULL, &p));
  ck_assert_int_eq(fm_datafile_take_labels(&p, 2, "l.csv"), FM_ERR_FORMAT);
  ck_assert_msg(strstr(fm_error_message(), "row 0, column 2 (from 0; data.label_column): 0.5 is "
                "not a class label"), "%s", fm_error_message());
  ck_assert_int_eq(fm_datafile_take_labels(&p, 7, "l.csv"), FM_ERR_CONFIG);
  fm_points_free(&p);
}
END_TEST

START_TEST(labels_outside_the_classes_are_refused) {
  fm_config cfg;
  fm_config_defaults(&cfg);
  cfg.model.classes = 4; /* 8gaussians has 8 components */
  fm_points data;
  ck_fm(fm_toy_generate("8gaussians", 0, FM_STREAM_DATA_TRAIN, 100, &data));
  fm_mlp_shape shape = fm_recipe_mlp_shape(&cfg, 2);
  fm_mlp *mlp = NULL;
  ck_fm(fm_mlp_create(test_device(), &shape, 512, &mlp));
  fm_trainer *tr = NULL;
  ck_assert_int_eq(fm_trainer_create(mlp, &cfg, &data, NULL, NULL, &tr), FM_ERR_CONFIG);
  ck_assert_msg(strstr(fm_error_message(), "model.classes"), "%s", fm_error_message());
  fm_mlp_destroy(mlp);
  fm_points_free(&data);
}
END_TEST

START_TEST(label_dropout_replaces_classes_at_its_rate) {
  enum { B = 512, DIM = 2 };
  float data[4 * DIM] = {0, 0, 1, 1, 2, 2, 3, 3};
  int labels[4] = {0, 1, 2, 3};
  fm_path_params p;
  memset(&p, 0, sizeof p);
  p.scheduler = FM_SCHED_CONDOT;
  p.time_std = 1;
  p.label_dropout = 0.25f;
  fm_path *path = NULL;
  ck_fm(fm_path_create(test_device(), &p, B, DIM, &path));
  cl_mem d = test_upload(data, 4 * DIM), xt = test_zeros(B * DIM), t = test_zeros(B);
  cl_mem u = test_zeros(B * DIM), dl = NULL, rl = NULL;
  ck_fm(fm_device_alloc(test_device(), sizeof labels, "labels", &dl));
  ck_fm(fm_device_write(test_device(), dl, 0, sizeof labels, labels));
  ck_fm(fm_device_alloc(test_device(), B * sizeof(int), "row labels", &rl));
  int dropped = 0, total = 0;
  for (uint32_t step = 1; step <= 8; step++) {
    ck_fm(fm_path_sample(path, d, dl, 4, NULL, 0, B, 0, 3, step, xt, t, u, rl));
    int rows[B];
    float x1[B * DIM];
    ck_fm(fm_device_read(test_device(), rl, 0, sizeof rows, rows));
    float *xv = test_download(xt, B * DIM), *uv = test_download(u, B * DIM), *tv = test_download(t, B);
    for (int i = 0; i < B; i++) {
      total++;
      if (rows[i] < 0) {
        dropped++;
        continue;
      }
      /* A kept label is the drawn point's: x1 = x_t + (1 - t) u with sigma_min 0. */
      for (int k = 0; k < DIM; k++) x1[i * DIM + k] = xv[i * DIM + k] + (1 - tv[i]) * uv[i * DIM + k];
      ck_assert_msg(fabsf(x1[i * DIM] - (float)rows[i]) < 1e-3, "row %d: x1 %g, label %d", i, x1[i * DIM], rows[i]);
    }
    free(xv), free(uv), free(tv);
  }
  double rate = (double)dropped / total;
  ck_assert_msg(fabs(rate - 0.25) < 0.03, "dropout rate %g", rate);
  fm_path_destroy(path);
  cl_mem bufs[] = {d, xt, t, u, dl, rl};
  for (int i = 0; i < 6; i++) fm_device_release(test_device(), bufs[i]);
}
END_TEST

int main(void) {
  Suite *s = suite_create("conditional");
  TCase *tc = tcase_create("conditional");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, samples_follow_their_class);
  tcase_add_test(tc, guidance_sharpens_and_zero_guidance_is_unconditional);
  tcase_add_test(tc, label_column_becomes_the_labels);
  tcase_add_test(tc, labels_outside_the_classes_are_refused);
  tcase_add_test(tc, label_dropout_replaces_classes_at_its_rate);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
