/* Every elementwise kernel against a plain C reference on seeded random inputs, at sizes
 * that are not multiples of the work-group size. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layer.h"
#include "support.h"

static cl_kernel kernel(const char *program, const char *name) {
  cl_kernel k = NULL;
  ck_fm(fm_device_kernel(test_device(), program, name, &k));
  return k;
}

static void launch_1d(cl_kernel k, size_t n) { ck_fm(fm_device_launch(test_device(), k, 1, &n, NULL)); }

static void launch_2d(cl_kernel k, size_t cols, size_t rows) {
  size_t global[2] = {cols, rows}, local[2] = {8, 4};
  ck_fm(fm_device_launch(test_device(), k, 2, global, local));
}

#define ARG(k, i, v) ck_assert_int_eq(clSetKernelArg((k), (i), sizeof(v), &(v)), CL_SUCCESS)

START_TEST(mlp_input_builds_x_t_time_features_and_class_one_hot) {
  const cl_uint n = 37, dim = 3, nf = 2, nc = 3, width = dim + 1 + 2 * nf + nc;
  float x[37 * 3], t[37];
  int labels[37];
  test_fill_uniform(x, n * dim, 1, -2, 2);
  test_fill_uniform(t, n, 2, 0, 1);
  for (cl_uint i = 0; i < n; i++) labels[i] = (int)(i % 4) - 1; /* -1 is the null class */
  cl_mem dx = test_upload(x, n * dim), dt = test_upload(t, n), din = test_zeros(n * width);
  cl_mem dl = NULL;
  ck_fm(fm_device_alloc(test_device(), sizeof labels, "labels", &dl));
  ck_fm(fm_device_write(test_device(), dl, 0, sizeof labels, labels));
  cl_int has = 1;
  cl_kernel k = kernel("mlp", "fm_mlp_input");
  ARG(k, 0, dx); ARG(k, 1, dt); ARG(k, 2, dl); ARG(k, 3, has); ARG(k, 4, din); ARG(k, 5, n);
  ARG(k, 6, dim); ARG(k, 7, nf); ARG(k, 8, nc);
  launch_1d(k, n);
  float *got = test_download(din, n * width);
  double want[37 * 11];
  for (cl_uint i = 0; i < n; i++) {
    for (cl_uint d = 0; d < dim; d++) want[i * width + d] = x[i * dim + d];
    want[i * width + dim] = t[i];
    for (cl_uint f = 1; f <= nf; f++) {
      want[i * width + dim + 2 * f - 1] = sin(2 * 3.14159265358979 * f * t[i]);
      want[i * width + dim + 2 * f] = cos(2 * 3.14159265358979 * f * t[i]);
    }
    for (cl_uint c = 0; c < nc; c++) want[i * width + dim + 1 + 2 * nf + c] = labels[i] == (int)c;
  }
  ck_assert_uint_eq(test_mismatches("input", got, want, n * width, 1e-5, 1e-5), 0);
  free(got);
  fm_device_release(test_device(), dx), fm_device_release(test_device(), dt);
  fm_device_release(test_device(), din), fm_device_release(test_device(), dl);
}
END_TEST

START_TEST(bias_activation_forward_and_backward_match_reference) {
  const char *names[] = {"silu", "relu", "tanh", "gelu"};
  const cl_uint n = 37, width = 45, at = 5;
  float z[37 * 45], params[50], g[37 * 45];
  test_fill_uniform(z, n * width, 3, -4, 4);
  test_fill_uniform(params, 50, 4, -1, 1);
  test_fill_uniform(g, n * width, 5, -1, 1);
  for (int a = 0; a < 4; a++) {
    cl_mem dz = test_upload(z, n * width), dh = test_zeros(n * width), dp = test_upload(params, 50);
    char name[64];
    snprintf(name, sizeof name, "fm_bias_%s", names[a]);
    cl_kernel k = kernel("mlp", name);
    ARG(k, 0, dz); ARG(k, 1, dh); ARG(k, 2, dp); ARG(k, 3, at); ARG(k, 4, n); ARG(k, 5, width);
    launch_2d(k, width, n);
    /* dz now holds act'(z + bias) */
    float *gd = test_download(dz, n * width), *gh = test_download(dh, n * width);
    double *wd = malloc(n * width * sizeof *wd), *wh = malloc(n * width * sizeof *wh);
    for (cl_uint i = 0; i < n; i++)
      for (cl_uint j = 0; j < width; j++) {
        double v = (double)z[i * width + j] + params[at + j];
        wd[i * width + j] = test_act_derivative(a, v);
        wh[i * width + j] = test_act(a, v);
      }
    ck_assert_uint_eq(test_mismatches(name, gd, wd, n * width, 1e-5, 1e-5), 0);
    ck_assert_uint_eq(test_mismatches(name, gh, wh, n * width, 1e-5, 1e-5), 0);

    cl_mem dg = test_upload(g, n * width);
    ck_fm(fm_layer_times(test_device(), dg, dz, (int)n, (int)width, NULL, 0));
    float *gg = test_download(dg, n * width);
    for (cl_uint i = 0; i < n * width; i++) wh[i] = g[i] * wd[i];
    ck_assert_uint_eq(test_mismatches("fm_times_partials", gg, wh, n * width, 1e-5, 1e-5), 0);
    free(gd), free(gh), free(gg), free(wd), free(wh);
    fm_device_release(test_device(), dz), fm_device_release(test_device(), dh);
    fm_device_release(test_device(), dp), fm_device_release(test_device(), dg);
  }
}
END_TEST

/* The bias of the output layer, and the two passes of column sums as the backward pass
 * runs them: the product with act' and its partial sums, partial sums of a gradient alone,
 * and the second pass putting each column's sum at its place in the gradient buffer. Rows
 * enough for several row groups of the first pass. */
START_TEST(bias_add_and_column_sums_match_reference) {
  const cl_uint n = 3001, width = 19, at = 2, ldp = 2 * 19 + 5;
  float *y = malloc(sizeof *y * n * width), *d = malloc(sizeof *d * n * width), params[24];
  test_fill_uniform(y, n * width, 6, -1, 1);
  test_fill_uniform(d, n * width, 16, 0, 2);
  test_fill_uniform(params, 24, 7, -1, 1);
  cl_mem dy = test_upload(y, n * width), dd = test_upload(d, n * width), dp = test_upload(params, 24);
  ck_fm(fm_layer_bias_add(test_device(), dy, dp, at, (int)n, (int)width));
  float *got = test_download(dy, n * width);
  double *want = malloc(sizeof *want * n * width);
  for (cl_uint i = 0; i < n * width; i++) want[i] = (double)y[i] + params[at + i % width];
  ck_assert_uint_eq(test_mismatches("bias_add", got, want, n * width, 1e-6, 1e-6), 0);

  /* Layer A: g = y' * d with its partials at column 0; layer B: y' alone at column 24. */
  size_t groups = 0;
  ck_fm(fm_layer_groups(test_device(), n, &groups));
  ck_assert_uint_gt(groups, 1);
  cl_mem dg = test_upload(got, n * width), partial = test_zeros(groups * ldp);
  fm_partials p = {partial, ldp};
  ck_fm(fm_layer_times(test_device(), dg, dd, (int)n, (int)width, &p, 0));
  ck_fm(fm_layer_column_partials(test_device(), dy, (int)n, (int)width, &p, width + 5));
  int dest[2 * 19 + 5];
  for (cl_uint j = 0; j < ldp; j++) dest[j] = (int)(ldp - 1 - j); /* reversed, to see the map */
  cl_mem ddest = NULL, grads = test_zeros(ldp);
  ck_fm(fm_device_alloc(test_device(), sizeof dest, "dest", &ddest));
  ck_fm(fm_device_write(test_device(), ddest, 0, sizeof dest, dest));
  ck_fm(fm_layer_column_finish(test_device(), &p, groups, 0, width, ddest, grads));
  ck_fm(fm_layer_column_finish(test_device(), &p, groups, width + 5, width, ddest, grads));
  float *sums = test_download(grads, ldp);
  double want_sums[2 * 19 + 5] = {0};
  for (cl_uint i = 0; i < n * width; i++) {
    cl_uint j = i % width;
    want_sums[ldp - 1 - j] += want[i] * d[i];
    want_sums[ldp - 1 - (width + 5 + j)] += want[i];
  }
  ck_assert_uint_eq(test_mismatches("column sums", sums, want_sums, ldp, 1e-3, 1e-4), 0);
  free(got), free(sums), free(want), free(y), free(d);
  cl_mem bufs[] = {dy, dd, dp, dg, partial, ddest, grads};
  for (int i = 0; i < 7; i++) fm_device_release(test_device(), bufs[i]);
}
END_TEST

/* The loss of n rows of a batch of total rows: dv and the accumulated mean against double
 * sums, for one process (total = n) and a share (total = 3 n). */
START_TEST(cfm_loss_and_its_gradient_match_reference) {
  const int n = 37, dim = 3;
  float v[37 * 3], u[37 * 3];
  test_fill_uniform(v, n * dim, 8, -2, 2);
  test_fill_uniform(u, n * dim, 9, -2, 2);
  cl_mem dv = test_upload(v, n * dim), du = test_upload(u, n * dim), dg = test_zeros(n * dim);
  cl_mem scratch = test_zeros(FM_LOSS_SCRATCH), acc = test_zeros(4);
  for (int share = 1; share <= 3; share += 2) {
    int total = share * n;
    ck_fm(fm_device_fill(test_device(), acc, 0, 4, 0.0f));
    ck_fm(fm_loss_cfm(test_device(), dv, du, dg, n, dim, total, scratch, acc, 1));
    ck_fm(fm_loss_cfm(test_device(), dv, du, dg, n, dim, total, scratch, acc, 2)); /* adds up */
    float *grad = test_download(dg, n * dim), *a = test_download(acc, 4);
    uint32_t first_bad;
    memcpy(&first_bad, &a[2], sizeof first_bad);
    ck_assert_uint_eq(first_bad, 0);
    double want[37 * 3], loss = 0;
    for (int i = 0; i < n * dim; i++) {
      want[i] = 2.0 * ((double)v[i] - u[i]) / total;
      loss += ((double)v[i] - u[i]) * ((double)v[i] - u[i]) / total;
    }
    ck_assert_uint_eq(test_mismatches("dL/dv", grad, want, n * dim, 1e-6, 1e-5), 0);
    double want_acc[2] = {2 * loss, 2};
    ck_assert_uint_eq(test_mismatches("loss sum", a, want_acc, 2, 1e-5, 1e-5), 0);
    free(grad), free(a);
  }
  /* A NaN loss at step 7 is remembered, and a later one does not replace it. */
  v[5 * dim + 1] = NAN;
  ck_fm(fm_device_write(test_device(), dv, 0, sizeof v, v));
  ck_fm(fm_loss_cfm(test_device(), dv, du, dg, n, dim, n, scratch, acc, 7));
  ck_fm(fm_loss_cfm(test_device(), dv, du, dg, n, dim, n, scratch, acc, 9));
  float *a = test_download(acc, 4);
  uint32_t first_bad;
  memcpy(&first_bad, &a[2], sizeof first_bad);
  ck_assert_uint_eq(first_bad, 7);
  free(a);
  cl_mem bufs[] = {dv, du, dg, scratch, acc};
  for (int i = 0; i < 5; i++) fm_device_release(test_device(), bufs[i]);
}
END_TEST

/* A batch far larger than the first pass's work-groups (each item strides over rows). */
START_TEST(cfm_loss_of_a_large_batch_is_the_double_sum) {
  const int n = 200003, dim = 1;
  float *v = malloc(sizeof *v * n), *u = calloc(n, sizeof *u);
  ck_assert_ptr_nonnull(v);
  ck_assert_ptr_nonnull(u);
  test_fill_uniform(v, n, 10, -1, 1);
  double loss = 0;
  for (int i = 0; i < n; i++) loss += (double)v[i] * v[i] / n;
  cl_mem dv = test_upload(v, n), du = test_upload(u, n), dg = test_zeros(n);
  cl_mem scratch = test_zeros(FM_LOSS_SCRATCH), acc = test_zeros(4);
  ck_fm(fm_loss_cfm(test_device(), dv, du, dg, n, dim, n, scratch, acc, 1));
  float *a = test_download(acc, 4);
  double want[2] = {loss, 1};
  ck_assert_uint_eq(test_mismatches("loss sum", a, want, 2, 1e-5, 1e-5), 0);
  free(a), free(v), free(u);
  cl_mem bufs[] = {dv, du, dg, scratch, acc};
  for (int i = 0; i < 5; i++) fm_device_release(test_device(), bufs[i]);
}
END_TEST

START_TEST(adam_update_matches_torch_formula) {
  const size_t n = 1037;
  float p[1037], g[1037], state[2 * 1037];
  test_fill_uniform(p, n, 10, -1, 1);
  test_fill_uniform(g, n, 11, -1, 1);
  memset(state, 0, sizeof state);
  fm_adam_params hp = {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1};
  fm_optim *opt = NULL;
  ck_fm(fm_optim_create(test_device(), n, &hp, &opt));
  cl_mem dp = test_upload(p, n), dg = test_upload(g, n);
  double wp[1037], wm[1037] = {0}, wv[1037] = {0};
  for (size_t i = 0; i < n; i++) wp[i] = p[i];
  for (int t = 1; t <= 3; t++) {
    ck_fm(fm_optim_step(opt, dp, dg, hp.lr));
    double bc1 = 1 - pow(hp.beta1, t), bc2 = 1 - pow(hp.beta2, t);
    for (size_t i = 0; i < n; i++) {
      wp[i] *= 1 - hp.lr * hp.weight_decay;
      wm[i] = hp.beta1 * wm[i] + (1 - hp.beta1) * g[i];
      wv[i] = hp.beta2 * wv[i] + (1 - hp.beta2) * g[i] * g[i];
      wp[i] -= hp.lr / bc1 * wm[i] / (sqrt(wv[i]) / sqrt(bc2) + hp.eps);
    }
  }
  ck_assert_uint_eq(fm_optim_steps(opt), 3);
  float *got = test_download(dp, n);
  ck_assert_uint_eq(test_mismatches("adam", got, wp, n, 1e-6, 1e-5), 0);
  ck_fm(fm_optim_read_state(opt, state));
  ck_assert_uint_eq(test_mismatches("adam m", state, wm, n, 1e-7, 1e-5), 0);
  ck_assert_uint_eq(test_mismatches("adam v", state + n, wv, n, 1e-9, 1e-5), 0);
  free(got);
  fm_optim_destroy(opt);
  fm_device_release(test_device(), dp), fm_device_release(test_device(), dg);
}
END_TEST

START_TEST(clipping_and_ema_follow_their_formulas) {
  const size_t n = 1037;
  float p[1037], g[1037];
  test_fill_uniform(p, n, 20, -1, 1);
  test_fill_uniform(g, n, 21, -1, 1);
  double norm = 0;
  for (size_t i = 0; i < n; i++) norm += (double)g[i] * g[i];
  norm = sqrt(norm);
  /* Clip at a third of the norm: the gradient is scaled by clip / norm. */
  fm_adam_params hp = {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .clip = norm / 3,
                       .ema = 0.5};
  fm_optim *opt = NULL;
  ck_fm(fm_optim_create(test_device(), n, &hp, &opt));
  cl_mem dp = test_upload(p, n), dg = test_upload(g, n);
  ck_fm(fm_optim_reset_ema(opt, dp));
  double wp[1037], wm[1037] = {0}, wv[1037] = {0}, we[1037];
  for (size_t i = 0; i < n; i++) wp[i] = we[i] = p[i];
  double scale = (norm / 3) / (norm + 1e-6);
  for (int t = 1; t <= 12; t++) {
    ck_fm(fm_optim_step(opt, dp, dg, hp.lr));
    /* The EMA warms up: update t - 1 (from 0) uses min(ema, t / (9 + t)), which reaches 0.5
     * at the ninth update. */
    double decay = fmin(hp.ema, (double)t / (9.0 + t));
    double bc1 = 1 - pow(hp.beta1, t), bc2 = 1 - pow(hp.beta2, t);
    for (size_t i = 0; i < n; i++) {
      double gi = g[i] * scale;
      wm[i] = hp.beta1 * wm[i] + (1 - hp.beta1) * gi;
      wv[i] = hp.beta2 * wv[i] + (1 - hp.beta2) * gi * gi;
      wp[i] -= hp.lr / bc1 * wm[i] / (sqrt(wv[i]) / sqrt(bc2) + hp.eps);
      we[i] = decay * we[i] + (1 - decay) * wp[i];
    }
  }
  float *got = test_download(dp, n), *ema = test_download(fm_optim_ema(opt), n);
  float state[2 * 1037];
  ck_fm(fm_optim_read_state(opt, state));
  /* The first moment shows the scaling directly (Adam's update itself is scale-free). */
  ck_assert_uint_eq(test_mismatches("clipped m", state, wm, n, 1e-7, 1e-4), 0);
  ck_assert_uint_eq(test_mismatches("params", got, wp, n, 1e-6, 1e-5), 0);
  ck_assert_uint_eq(test_mismatches("ema", ema, we, n, 1e-6, 1e-5), 0);
  free(got), free(ema);
  fm_optim_destroy(opt);
  fm_device_release(test_device(), dp), fm_device_release(test_device(), dg);
}
END_TEST

START_TEST(learning_rate_schedules_warm_up_and_decay) {
  fm_lr_schedule c = {.shape = FM_LR_CONSTANT, .lr = 1e-3, .warmup = 10, .steps = 100};
  ck_assert_double_eq_tol(fm_lr_at(&c, 5), 5e-4, 1e-15);
  ck_assert_double_eq_tol(fm_lr_at(&c, 10), 1e-3, 1e-15);
  ck_assert_double_eq_tol(fm_lr_at(&c, 90), 1e-3, 1e-15);
  fm_lr_schedule k = {.shape = FM_LR_COSINE, .lr = 1e-3, .lr_min = 1e-4, .warmup = 10, .steps = 110};
  ck_assert_double_eq_tol(fm_lr_at(&k, 1), 1e-4, 1e-15);
  ck_assert_double_eq_tol(fm_lr_at(&k, 10), 1e-3, 1e-15);
  ck_assert_double_eq_tol(fm_lr_at(&k, 60), 5.5e-4, 1e-12); /* halfway: the mean */
  ck_assert_double_eq_tol(fm_lr_at(&k, 110), 1e-4, 1e-15);
  fm_lr_schedule plain = {.shape = FM_LR_COSINE, .lr = 1e-3, .steps = 100};
  ck_assert_double_eq_tol(fm_lr_at(&plain, 1), 1e-3 * 0.5 * (1 + cos(3.14159265358979 / 100)), 1e-12);
}
END_TEST

START_TEST(solver_stage_kernels_match_reference) {
  const cl_uint n = 1037;
  float x[1037], k1[1037], k2[1037], k3[1037], k4[1037];
  test_fill_uniform(x, n, 13, -1, 1);
  test_fill_uniform(k1, n, 14, -1, 1);
  test_fill_uniform(k2, n, 15, -1, 1);
  test_fill_uniform(k3, n, 16, -1, 1);
  test_fill_uniform(k4, n, 17, -1, 1);
  const float h = 0.125f;
  cl_mem dx = test_upload(x, n), d1 = test_upload(k1, n), d2 = test_upload(k2, n);
  cl_mem d3 = test_upload(k3, n), d4 = test_upload(k4, n), y = test_zeros(n);
  double want[1037];
  cl_kernel k = kernel("solver", "fm_axpy");
  ARG(k, 0, y); ARG(k, 1, dx); ARG(k, 2, d1); ARG(k, 3, h); ARG(k, 4, n);
  launch_1d(k, n);
  float *got = test_download(y, n);
  for (cl_uint i = 0; i < n; i++) want[i] = x[i] + (double)h * k1[i];
  ck_assert_uint_eq(test_mismatches("axpy", got, want, n, 1e-6, 1e-6), 0);
  free(got);

  k = kernel("solver", "fm_heun_update");
  ARG(k, 0, y); ARG(k, 1, d1); ARG(k, 2, d2); ARG(k, 3, h); ARG(k, 4, n);
  launch_1d(k, n);
  got = test_download(y, n);
  for (cl_uint i = 0; i < n; i++) want[i] += 0.5 * h * ((double)k1[i] + k2[i]);
  ck_assert_uint_eq(test_mismatches("heun", got, want, n, 1e-6, 1e-6), 0);
  free(got);

  k = kernel("solver", "fm_rk4_update");
  ARG(k, 0, y); ARG(k, 1, d1); ARG(k, 2, d2); ARG(k, 3, d3); ARG(k, 4, d4); ARG(k, 5, h);
  ARG(k, 6, n);
  launch_1d(k, n);
  got = test_download(y, n);
  for (cl_uint i = 0; i < n; i++)
    want[i] += h / 6.0 * ((double)k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
  ck_assert_uint_eq(test_mismatches("rk4", got, want, n, 1e-6, 1e-6), 0);
  free(got);
  cl_mem bufs[] = {dx, d1, d2, d3, d4, y};
  for (int i = 0; i < 6; i++) fm_device_release(test_device(), bufs[i]);
}
END_TEST

START_TEST(transpose_and_strided_copy_place_a_block_with_its_row_stride) {
  /* 37 rows: two whole blocks of 16 and a partial one; the transpose's rows 41 apart, the
   * copy's 49. */
  const cl_uint rows = 37, cols = 45, at = 7, dst_at = 5, ld = 49, total = 7 + 49 * 49 + 3;
  float src[7 + 49 * 49 + 3];
  test_fill_uniform(src, total, 18, -1, 1);
  cl_mem ds = test_upload(src, total), dd = test_zeros(total);
  cl_kernel k = kernel("mlp", "fm_transpose");
  cl_uint t_ld = 41;
  ARG(k, 0, ds); ARG(k, 1, at); ARG(k, 2, dd); ARG(k, 3, dst_at); ARG(k, 4, rows);
  ARG(k, 5, cols); ARG(k, 6, t_ld);
  launch_2d(k, cols, (rows + 15) / 16);
  float *got = test_download(dd, total);
  static double want[7 + 49 * 49 + 3];
  memset(want, 0, sizeof want);
  for (cl_uint r = 0; r < rows; r++)
    for (cl_uint c = 0; c < cols; c++) want[dst_at + c * t_ld + r] = src[at + r * cols + c];
  ck_assert_uint_eq(test_mismatches("transpose", got, want, total, 0, 0), 0);
  free(got);
  ck_fm(fm_device_fill(test_device(), dd, 0, total, 0.0f));
  k = kernel("mlp", "fm_copy_strided");
  ARG(k, 0, ds); ARG(k, 1, at); ARG(k, 2, dd); ARG(k, 3, dst_at); ARG(k, 4, rows);
  ARG(k, 5, cols); ARG(k, 6, ld);
  launch_2d(k, cols, rows);
  got = test_download(dd, total);
  memset(want, 0, sizeof want);
  for (cl_uint r = 0; r < rows; r++)
    for (cl_uint c = 0; c < cols; c++) want[dst_at + r * ld + c] = src[at + r * cols + c];
  ck_assert_uint_eq(test_mismatches("strided copy", got, want, total, 0, 0), 0);
  free(got);
  fm_device_release(test_device(), ds), fm_device_release(test_device(), dd);
}
END_TEST

/* A launch of 16 work-items a row, the rest of FM_REDUCE_WG rows a work-group. */
static void launch_per_row(cl_kernel k, size_t rows) {
  size_t wg = fm_device_kernel_limits(test_device(), k)->reduce_wg;
  size_t lx = wg < 16 ? wg : 16, ly = wg / lx;
  size_t global[2] = {lx, (rows + ly - 1) / ly * ly}, local[2] = {lx, ly};
  ck_fm(fm_device_launch(test_device(), k, 2, global, local));
}

/* The layer normalisation of a residual stream against double precision: the skip added,
 * the rows normalised, and the Jacobian-vector product of fm_norm_back over two blocks of
 * rows (period) added onto what out held. */
START_TEST(layer_norm_and_its_jacobian_match_reference) {
  enum { N = 13, W = 150, K = 2 }; /* N: a part of a work-group's rows; W: not a multiple of 16 */
  static float s[N * W], prev[N * W], g[K * N * W], out0[K * N * W];
  test_fill_uniform(s, N * W, 31, -2, 3);
  test_fill_uniform(prev, N * W, 32, -1, 1);
  test_fill_uniform(g, K * N * W, 33, -1, 1);
  test_fill_uniform(out0, K * N * W, 34, -1, 1);
  cl_mem ds = test_upload(s, N * W), dp = test_upload(prev, N * W), dy = test_zeros(N * W);
  cl_mem dr = test_zeros(N), dg = test_upload(g, K * N * W), dout = test_upload(out0, K * N * W);
  cl_kernel k = kernel("mlp", "fm_norm");
  cl_int has_prev = 1, acc = 1;
  cl_uint width = W, period = N, n = N, rows = K * N;
  ARG(k, 0, ds); ARG(k, 1, dp); ARG(k, 2, has_prev); ARG(k, 3, dy); ARG(k, 4, dr); ARG(k, 5, n);
  ARG(k, 6, width);
  launch_per_row(k, N);
  k = kernel("mlp", "fm_norm_back");
  ARG(k, 0, dg); ARG(k, 1, dy); ARG(k, 2, dr); ARG(k, 3, dout); ARG(k, 4, acc); ARG(k, 5, rows);
  ARG(k, 6, width); ARG(k, 7, period);
  launch_per_row(k, K * N);
  float *got_s = test_download(ds, N * W), *got_y = test_download(dy, N * W);
  float *got_out = test_download(dout, K * N * W);
  static double want_s[N * W], want_y[N * W], want_out[K * N * W];
  double r[N];
  for (int i = 0; i < N; i++) {
    double mean = 0, var = 0;
    for (int c = 0; c < W; c++) mean += (want_s[i * W + c] = (double)s[i * W + c] + prev[i * W + c]) / W;
    for (int c = 0; c < W; c++) var += (want_s[i * W + c] - mean) * (want_s[i * W + c] - mean) / W;
    r[i] = 1 / sqrt(var + 1e-5);
    for (int c = 0; c < W; c++) want_y[i * W + c] = (want_s[i * W + c] - mean) * r[i];
  }
  /* J g = r (I - 1 1^T / W - y y^T / W) g, the matrix written out. */
  for (int b = 0; b < K; b++)
    for (int i = 0; i < N; i++)
      for (int c = 0; c < W; c++) {
        double v = 0;
        for (int e = 0; e < W; e++) {
          double jce = ((c == e) - 1.0 / W - want_y[i * W + c] * want_y[i * W + e] / W) * r[i];
          v += jce * g[(b * N + i) * W + e];
        }
        want_out[(b * N + i) * W + c] = out0[(b * N + i) * W + c] + v;
      }
  ck_assert_uint_eq(test_mismatches("stream", got_s, want_s, N * W, 1e-6, 1e-6), 0);
  ck_assert_uint_eq(test_mismatches("normalised", got_y, want_y, N * W, 1e-5, 1e-5), 0);
  ck_assert_uint_eq(test_mismatches("jacobian", got_out, want_out, K * N * W, 1e-5, 1e-5), 0);
  free(got_s), free(got_y), free(got_out);
  cl_mem bufs[] = {ds, dp, dy, dr, dg, dout};
  for (int i = 0; i < 6; i++) fm_device_release(test_device(), bufs[i]);
}
END_TEST

int main(void) {
  Suite *s = suite_create("kernels");
  TCase *tc = tcase_create("kernels");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, mlp_input_builds_x_t_time_features_and_class_one_hot);
  tcase_add_test(tc, bias_activation_forward_and_backward_match_reference);
  tcase_add_test(tc, bias_add_and_column_sums_match_reference);
  tcase_add_test(tc, cfm_loss_and_its_gradient_match_reference);
  tcase_add_test(tc, cfm_loss_of_a_large_batch_is_the_double_sum);
  tcase_add_test(tc, adam_update_matches_torch_formula);
  tcase_add_test(tc, solver_stage_kernels_match_reference);
  tcase_add_test(tc, clipping_and_ema_follow_their_formulas);
  tcase_add_test(tc, learning_rate_schedules_warm_up_and_decay);
  tcase_add_test(tc, transpose_and_strided_copy_place_a_block_with_its_row_stride);
  tcase_add_test(tc, layer_norm_and_its_jacobian_match_reference);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
