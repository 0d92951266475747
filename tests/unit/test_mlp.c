/* The MLP: forward pass against a double-precision reference, the backward pass and the
 * loss gradient against central finite differences, and the initialisation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

enum { N = 37, DIM = 3 };

/* out (o) = W_l a + b_l, then the activation unless act is 0. */
static void reference_layer(const fm_mlp *m, const double *flat, int l, const double *a, int act,
                            double *out) {
  int in = fm_mlp_layer_in(m, l), o = fm_mlp_layer_out(m, l);
  const double *W = flat + fm_mlp_weight_offset(m, l), *bias = flat + fm_mlp_bias_offset(m, l);
  for (int j = 0; j < o; j++) {
    double z = bias[j];
    for (int i = 0; i < in; i++) z += W[j * in + i] * a[i];
    out[j] = act ? test_act(fm_mlp_get_shape(m)->activation, z) : z;
  }
}

/* A residual model from its input features a: s = act(W_0 a + b_0), s += W_{l+1}
 * act(W_l norm(s) + b_l) a block, v = W_L norm(s) + b_L; norm as PyTorch's LayerNorm
 * without affine parameters (eps 1e-5). */
static void reference_residual(const fm_mlp *m, const double *flat, const double *a,
                               double *out) {
  double s[300], y[300], h[300], branch[300];
  int L = fm_mlp_layers(m), w = fm_mlp_layer_out(m, 0);
  reference_layer(m, flat, 0, a, 1, s);
  for (int l = 1; l < L; l += 2) {
    double mean = 0, var = 0;
    for (int c = 0; c < w; c++) mean += s[c] / w;
    for (int c = 0; c < w; c++) var += (s[c] - mean) * (s[c] - mean) / w;
    for (int c = 0; c < w; c++) y[c] = (s[c] - mean) / sqrt(var + 1e-5);
    if (l == L - 1) {
      reference_layer(m, flat, l, y, 0, out);
      return;
    }
    reference_layer(m, flat, l, y, 1, h);
    reference_layer(m, flat, l + 1, h, 0, branch);
    for (int c = 0; c < w; c++) s[c] += branch[c];
  }
}

/* v(x, t, label) for one row in double, from the flat parameters (label -1: the null
 * class, whose one-hot is all zero). */
static void reference_forward_d(const fm_mlp *m, const double *flat, const double *x, double t,
                                int label, double *out) {
  const fm_mlp_shape *s = fm_mlp_get_shape(m);
  double a[300], b[300]; /* activations of the current and the next layer */
  int w = 0;
  for (int d = 0; d < s->dim; d++) a[w++] = x[d];
  a[w++] = t;
  for (int k = 1; k <= s->time_features; k++) {
    a[w++] = sin(2 * 3.14159265358979 * k * t);
    a[w++] = cos(2 * 3.14159265358979 * k * t);
  }
  for (int c = 0; c < s->classes; c++) a[w++] = c == label;
  int L = fm_mlp_layers(m);
  if (s->residual) {
    reference_residual(m, flat, a, out);
    return;
  }
  for (int l = 0; l < L; l++) {
    int in = fm_mlp_layer_in(m, l), o = fm_mlp_layer_out(m, l);
    const double *W = flat + fm_mlp_weight_offset(m, l), *bias = flat + fm_mlp_bias_offset(m, l);
    for (int j = 0; j < o; j++) {
      double z = bias[j];
      for (int i = 0; i < in; i++) z += W[j * in + i] * a[i];
      b[j] = l < L - 1 ? test_act(s->activation, z) : z;
    }
    memcpy(a, b, (size_t)o * sizeof *a);
  }
  memcpy(out, a, (size_t)s->dim * sizeof *out);
}

static void reference_forward(const fm_mlp *m, const double *flat, const float *x, float t,
                              int label, double *out) {
  double xd[DIM];
  for (int d = 0; d < DIM; d++) xd[d] = x[d];
  reference_forward_d(m, flat, xd, t, label, out);
}

/* Row i's class in the tests of a class-conditional model: -1 (the null class) to 3. */
static int row_label(const fm_mlp *m, int i) {
  return fm_mlp_get_shape(m)->classes ? i % 5 - 1 : -1;
}

/* The rows' classes on the device for a class-conditional model, else NULL. */
static cl_mem row_labels(const fm_mlp *m) {
  if (!fm_mlp_get_shape(m)->classes) return NULL;
  int labels[N];
  for (int i = 0; i < N; i++) labels[i] = row_label(m, i);
  cl_mem d = NULL;
  ck_fm(fm_device_alloc(test_device(), sizeof labels, "test labels", &d));
  ck_fm(fm_device_write(test_device(), d, 0, sizeof labels, labels));
  return d;
}

static double reference_loss(const fm_mlp *m, const double *flat, const float *x, const float *t,
                             const float *u) {
  double loss = 0, v[DIM];
  for (int i = 0; i < N; i++) {
    reference_forward(m, flat, x + i * DIM, t[i], row_label(m, i), v);
    for (int d = 0; d < DIM; d++) loss += (v[d] - u[i * DIM + d]) * (v[d] - u[i * DIM + d]);
  }
  return loss / N;
}

/* The products' provider of the test: loop index 0 CLBlast, 1 fmcl's CPU kernels (fused
 * epilogues), 2 fmcl's GPU kernels. CLBlast and the GPU kernels take the GPU path: the
 * thin input and output layers of cl/mlp_thin.cl, two-pass bias gradients. */
static fm_gemm_provider provider;
static const fm_gemm_provider providers[] = {FM_GEMM_CLBLAST, FM_GEMM_FMCL, FM_GEMM_FMCL_GPU};

/* The model of the loop tests: index 0 to 2 an MLP, 3 to 5 a residual model of two blocks
 * conditional on 4 classes (the classes' columns of the first layer are its learned class
 * embedding), each by the providers in turn. */
static int residual;
static void choose_model(int i) {
  provider = providers[i % 3];
  residual = i >= 3;
}

static fm_mlp *make_mlp(fm_activation a, int time_features) {
  /* Widths that leave partial tiles, and one (40) that fills a 32-wide tile and more. */
  fm_mlp_shape shape = {.dim = DIM, .time_features = time_features, .n_hidden = 3, .hidden = {13, 40, 7}, .activation = a};
  fm_mlp_shape blocks = {.dim = DIM, .time_features = time_features, .n_hidden = 5,
                         .hidden = {24, 40, 24, 7, 24}, .activation = a, .classes = 4,
                         .residual = 1};
  if (residual) shape = blocks;
  fm_mlp *m = NULL;
  ck_fm(fm_mlp_create(test_device(), &shape, 64, &m));
  ck_fm(fm_mlp_set_gemm(m, provider));
  ck_fm(fm_mlp_init(m, 11));
  return m;
}

static double *params_double(fm_mlp *m) {
  size_t n = fm_mlp_flat_size(m);
  float *f = malloc(n * sizeof *f);
  ck_fm(fm_mlp_read_params(m, f));
  double *d = malloc(n * sizeof *d);
  for (size_t i = 0; i < n; i++) d[i] = f[i];
  free(f);
  return d;
}

START_TEST(forward_matches_reference_for_every_activation) {
  choose_model(_i);
  for (int a = 0; a < 4; a++) {
    fm_mlp *m = make_mlp((fm_activation)a, 2);
    float x[N * DIM], t[N];
    test_fill_uniform(x, N * DIM, 1, -2, 2);
    test_fill_uniform(t, N, 2, 0, 1);
    cl_mem dx = test_upload(x, N * DIM), dt = test_upload(t, N), out = test_zeros(N * DIM);
    cl_mem labels = row_labels(m);
    ck_fm(fm_mlp_forward(m, dx, dt, labels, N, out));
    float *got = test_download(out, N * DIM);
    double *flat = params_double(m), want[N * DIM];
    for (int i = 0; i < N; i++)
      reference_forward(m, flat, x + i * DIM, t[i], row_label(m, i), want + i * DIM);
    ck_assert_uint_eq(test_mismatches(fm_activation_name((fm_activation)a), got, want, N * DIM, 1e-5, 1e-4), 0);
    /* Sampling's forward pass, which keeps no derivatives, gives the same output. */
    ck_fm(fm_device_fill(test_device(), out, 0, N * DIM, 0.0f));
    ck_fm(fm_mlp_evaluate(m, dx, dt, labels, N, out));
    float *evaluated = test_download(out, N * DIM);
    ck_assert_int_eq(memcmp(evaluated, got, sizeof(float) * N * DIM), 0);
    free(got), free(flat), free(evaluated);
    fm_device_release(test_device(), dx), fm_device_release(test_device(), dt);
    fm_device_release(test_device(), out), fm_device_release(test_device(), labels);
    fm_mlp_destroy(m);
  }
}
END_TEST

/* The flow-matching loss's parameter gradients of m on N rows (x, t) with targets u: one
 * forward, loss and backward pass; a malloc'd copy of the gradient buffer. */
static float *loss_gradients(fm_mlp *m, const float *x, const float *t, const float *u) {
  cl_mem dx = test_upload(x, N * DIM), dt = test_upload(t, N), du = test_upload(u, N * DIM);
  cl_mem v = test_zeros(N * DIM), dv = test_zeros(N * DIM), rows = test_zeros(FM_LOSS_SCRATCH);
  cl_mem acc = test_zeros(4), labels = row_labels(m);
  ck_fm(fm_mlp_forward(m, dx, dt, labels, N, v));
  ck_fm(fm_loss_cfm(test_device(), v, du, dv, N, DIM, N, rows, acc, 1));
  fm_device_release(test_device(), acc);
  ck_fm(fm_mlp_backward(m, dv, N));
  float *grad = test_download(fm_mlp_grads(m), fm_mlp_flat_size(m));
  cl_mem bufs[] = {dx, dt, du, v, dv, rows, labels};
  for (int i = 0; i < 7; i++) fm_device_release(test_device(), bufs[i]);
  return grad;
}

START_TEST(backward_matches_finite_differences) {
  choose_model(_i);
  for (int a = 0; a < 4; a++) {
    fm_mlp *m = make_mlp((fm_activation)a, 1);
    float x[N * DIM], t[N], u[N * DIM];
    test_fill_uniform(x, N * DIM, 3, -2, 2);
    test_fill_uniform(t, N, 4, 0, 1);
    test_fill_uniform(u, N * DIM, 5, -2, 2);
    float *grad = loss_gradients(m, x, t, u);
    size_t n = fm_mlp_flat_size(m);
    double *flat = params_double(m), *want = malloc(n * sizeof *want);
    for (size_t i = 0; i < n; i++) {
      double keep = flat[i], h = 1e-6;
      flat[i] = keep + h;
      double up = reference_loss(m, flat, x, t, u);
      flat[i] = keep - h;
      double down = reference_loss(m, flat, x, t, u);
      flat[i] = keep;
      want[i] = (up - down) / (2 * h);
    }
    /* Padding between layers has no parameters: its gradient must be exactly 0 too. */
    ck_assert_uint_eq(test_mismatches(fm_activation_name((fm_activation)a), grad, want, n, 2e-5, 2e-3), 0);
    free(grad), free(flat), free(want);
    fm_mlp_destroy(m);
  }
}
END_TEST

/* A 512 x 512 layer takes its weight gradient from the transposed output gradient (NN
 * product with row sums): the same gradients as CLBlast's A^T B on the same model. */
START_TEST(backward_of_a_wide_layer_matches_clblast) {
  if (test_device_is_simulator()) {
    /* A simulator is a GPU: fmcl means its GPU kernels there, which the gpu_path case
     * checks against CLBlast; the CPU kernels' wide path is not taken. */
    fprintf(stderr, "skipped on a simulator: the CPU kernels' 512-wide path is not taken\n");
    return;
  }
  /* Widths of multiples of 256 also give the CPU kernels weights with padded rows; the
   * residual model's blocks read them in both directions. */
  fm_mlp_shape shapes[2] = {
      {.dim = DIM, .n_hidden = 2, .hidden = {512, 512}, .activation = FM_ACT_SILU},
      {.dim = DIM, .n_hidden = 3, .hidden = {256, 512, 256}, .activation = FM_ACT_SILU,
       .residual = 1}};
  float x[N * DIM], t[N], u[N * DIM];
  test_fill_uniform(x, N * DIM, 12, -2, 2);
  test_fill_uniform(t, N, 13, 0, 1);
  test_fill_uniform(u, N * DIM, 14, -2, 2);
  for (int s = 0; s < 2; s++) {
    float *grads[2];
    size_t n = 0;
    for (int p = 0; p < 2; p++) {
      fm_mlp *m = NULL;
      ck_fm(fm_mlp_create(test_device(), &shapes[s], 64, &m));
      ck_fm(fm_mlp_set_gemm(m, p == 0 ? FM_GEMM_CLBLAST : FM_GEMM_FMCL));
      ck_fm(fm_mlp_init(m, 15));
      grads[p] = loss_gradients(m, x, t, u);
      n = fm_mlp_flat_size(m);
      fm_mlp_destroy(m);
    }
    double *want = malloc(n * sizeof *want);
    for (size_t i = 0; i < n; i++) want[i] = grads[0][i];
    ck_assert_uint_eq(test_mismatches(s ? "residual wide gradient" : "wide layer gradient",
                                      grads[1], want, n, 1e-6, 1e-4), 0);
    free(grads[0]), free(grads[1]), free(want);
  }
}
END_TEST

/* The GPU path (loop index bit 0: CLBlast or fmcl's GPU kernels) against fmcl's CPU
 * kernels (checked against finite differences above) on a batch of several row groups,
 * for a model with thin input and output layers and (bit 1) for one whose input and output
 * are too wide for the thin kernels: forward output and every gradient. */
START_TEST(gpu_path_gradients_match_the_cpu_kernels) {
  enum { MAX_ROWS = 1003, WIDE = 21 };
  const int sim = test_device_is_simulator(), ROWS = sim ? 301 : MAX_ROWS;
  int dim = _i & 2 ? WIDE : DIM;
  fm_mlp_shape shape = {.dim = dim, .time_features = 2, .n_hidden = 2,
                        .hidden = {sim ? 13 : 45, sim ? 19 : 70}, .activation = FM_ACT_GELU};
  float *x = malloc(sizeof *x * ROWS * WIDE), t[MAX_ROWS], *u = malloc(sizeof *u * ROWS * WIDE);
  test_fill_uniform(x, ROWS * dim, 21, -2, 2);
  test_fill_uniform(t, ROWS, 22, 0, 1);
  test_fill_uniform(u, ROWS * dim, 23, -2, 2);
  cl_mem dx = test_upload(x, ROWS * dim), dt = test_upload(t, ROWS), du = test_upload(u, ROWS * dim);
  cl_mem v = test_zeros(ROWS * dim), dv = test_zeros(ROWS * dim);
  cl_mem scratch = test_zeros(FM_LOSS_SCRATCH), acc = test_zeros(4);
  float *out[2], *grad[2];
  size_t n = 0;
  for (int p = 0; p < 2; p++) {
    fm_mlp *m = NULL;
    ck_fm(fm_mlp_create(test_device(), &shape, ROWS, &m));
    ck_fm(fm_mlp_set_gemm(m, p == 0 ? FM_GEMM_FMCL : _i & 1 ? FM_GEMM_FMCL_GPU : FM_GEMM_CLBLAST));
    ck_fm(fm_mlp_init(m, 24));
    ck_fm(fm_mlp_forward(m, dx, dt, NULL, ROWS, v));
    ck_fm(fm_loss_cfm(test_device(), v, du, dv, ROWS, dim, ROWS, scratch, acc, 1));
    ck_fm(fm_device_fill(test_device(), fm_mlp_grads(m), 0, fm_mlp_flat_size(m), NAN));
    ck_fm(fm_mlp_backward(m, dv, ROWS));
    out[p] = test_download(v, ROWS * dim);
    n = fm_mlp_flat_size(m);
    grad[p] = test_download(fm_mlp_grads(m), n);
    /* Padding between blocks is never written: compare the parameters only. */
    for (int l = 0; l < fm_mlp_layers(m); l++) {
      size_t w_end = fm_mlp_weight_offset(m, l) + (size_t)fm_mlp_layer_in(m, l) * fm_mlp_layer_out(m, l);
      for (size_t i = w_end; i < fm_mlp_bias_offset(m, l); i++) grad[p][i] = 0;
      size_t b_end = fm_mlp_bias_offset(m, l) + (size_t)fm_mlp_layer_out(m, l);
      size_t next = l + 1 < fm_mlp_layers(m) ? fm_mlp_weight_offset(m, l + 1) : n;
      for (size_t i = b_end; i < next; i++) grad[p][i] = 0;
    }
    fm_mlp_destroy(m);
  }
  size_t values = (size_t)ROWS * WIDE;
  double *want = malloc(sizeof *want * (n > values ? n : values));
  for (size_t i = 0; i < (size_t)ROWS * dim; i++) want[i] = out[0][i];
  ck_assert_uint_eq(test_mismatches("forward", out[1], want, ROWS * dim, 1e-5, 1e-4), 0);
  for (size_t i = 0; i < n; i++) want[i] = grad[0][i];
  ck_assert_uint_eq(test_mismatches("gradient", grad[1], want, n, 1e-6, 1e-3), 0);
  free(want), free(x), free(u);
  for (int p = 0; p < 2; p++) free(out[p]), free(grad[p]);
  cl_mem bufs[] = {dx, dt, du, v, dv, scratch, acc};
  for (size_t i = 0; i < 7; i++) fm_device_release(test_device(), bufs[i]);
}
END_TEST

/* A device that allows only 16 work-items per group: the reductions and the thin-layer
 * kernels are built for 16 and give the GPU path's gradients of the full-size device, and
 * a kernel that needs more (fmcl's default GPU tile, 256 items) fails with a message
 * naming it, its size and the limit. */
START_TEST(a_small_work_group_limit_shrinks_the_kernels_or_names_the_one_that_cannot) {
  fm_device_select sel = {.kind = FM_DEVICE_AUTO, .index = -1, .max_work_group = 16};
  const char *index = getenv("FMCL_TEST_DEVICE");
  if (index && *index) sel.index = atoi(index);
  fm_device *small = NULL;
  ck_fm(fm_device_open(&sel, &small));
  cl_kernel loss = NULL;
  ck_fm(fm_device_kernel(small, "loss", "fm_cfm_loss", &loss));
  ck_assert_uint_eq(fm_device_kernel_limits(small, loss)->reduce_wg, 16);
  fm_device *devs[2] = {test_device(), small};
  fm_mlp_shape shape = {.dim = DIM, .time_features = 1, .n_hidden = 2, .hidden = {37, 20},
                        .activation = FM_ACT_TANH};
  enum { MAX_ROWS = 301 };
  const int ROWS = test_device_is_simulator() ? 101 : MAX_ROWS;
  float x[MAX_ROWS * DIM], t[MAX_ROWS], u[MAX_ROWS * DIM];
  test_fill_uniform(x, ROWS * DIM, 31, -2, 2);
  test_fill_uniform(t, ROWS, 32, 0, 1);
  test_fill_uniform(u, ROWS * DIM, 33, -2, 2);
  float *grad[2];
  size_t n = 0;
  for (int d = 0; d < 2; d++) {
    fm_device *dev = devs[d];
    cl_mem bufs[7];
    const float *host[3] = {x, t, u};
    size_t sizes[7] = {ROWS * DIM, ROWS, ROWS * DIM, ROWS * DIM, ROWS * DIM, FM_LOSS_SCRATCH, 4};
    for (int i = 0; i < 7; i++) {
      ck_fm(fm_device_alloc(dev, sizes[i] * sizeof(float), "test", &bufs[i]));
      if (i < 3) ck_fm(fm_device_write(dev, bufs[i], 0, sizes[i] * sizeof(float), host[i]));
    }
    fm_mlp *m = NULL;
    ck_fm(fm_mlp_create(dev, &shape, ROWS, &m));
    ck_fm(fm_mlp_set_gemm(m, FM_GEMM_CLBLAST));
    ck_fm(fm_mlp_init(m, 34));
    ck_fm(fm_mlp_forward(m, bufs[0], bufs[1], NULL, ROWS, bufs[3]));
    ck_fm(fm_loss_cfm(dev, bufs[3], bufs[2], bufs[4], ROWS, DIM, ROWS, bufs[5], bufs[6], 1));
    ck_fm(fm_mlp_backward(m, bufs[4], ROWS));
    n = fm_mlp_flat_size(m);
    grad[d] = malloc(n * sizeof(float));
    ck_fm(fm_device_read(dev, fm_mlp_grads(m), 0, n * sizeof(float), grad[d]));
    fm_mlp_destroy(m);
    for (int i = 0; i < 7; i++) fm_device_release(dev, bufs[i]);
  }
  double *want = malloc(n * sizeof *want);
  for (size_t i = 0; i < n; i++) want[i] = grad[0][i];
  ck_assert_uint_eq(test_mismatches("16-item gradient", grad[1], want, n, 1e-6, 1e-4), 0);
  free(want), free(grad[0]), free(grad[1]);

  fm_gemm_impl gpu = {FM_GEMM_FMCL_GPU, fm_gpu_tile_default()};
  cl_mem c = NULL;
  ck_fm(fm_device_alloc(small, 64 * sizeof(float), "test", &c));
  fm_matrix m8 = {c, 0, 8};
  ck_assert_int_ne(fm_gemm_by(small, &gpu, 0, 0, 8, 8, 8, 1.0f, m8, m8, 0.0f, m8), FM_OK);
  ck_assert_msg(strstr(fm_error_message(), "fm_gpu_gemm") &&
                    strstr(fm_error_message(), "256 work-items") &&
                    strstr(fm_error_message(), "allows 16"),
                "%s", fm_error_message());
  fm_error_clear();
  fm_device_release(small, c);
  fm_device_destroy(small);
}
END_TEST

START_TEST(jvp_matches_finite_differences_of_the_forward_pass) {
  choose_model(_i);
  for (int a = 0; a < 4; a++) {
    fm_mlp *m = make_mlp((fm_activation)a, 1);
    enum { K = 3 };
    float x[N * DIM], t[N], tg[K * N * DIM];
    test_fill_uniform(x, N * DIM, 6, -2, 2);
    test_fill_uniform(t, N, 7, 0, 1);
    test_fill_uniform(tg, K * N * DIM, 8, -1, 1);
    cl_mem dx = test_upload(x, N * DIM), dt = test_upload(t, N), dtg = test_upload(tg, K * N * DIM);
    cl_mem out = test_zeros(N * DIM), out_tg = test_zeros(K * N * DIM);
    cl_mem labels = row_labels(m);
    ck_fm(fm_mlp_jvp(m, dx, dt, labels, N, out, dtg, K, out_tg));
    float *got = test_download(out_tg, K * N * DIM);
    double *flat = params_double(m), want[K * N * DIM];
    for (int j = 0; j < K; j++)
      for (int i = 0; i < N; i++) {
        double xp[DIM], xm[DIM], vp[DIM], vm[DIM], h = 1e-5;
        const float *dir = tg + (j * N + i) * DIM;
        /* The central difference of the double-precision forward pass along dir. */
        for (int d = 0; d < DIM; d++)
          xp[d] = x[i * DIM + d] + h * dir[d], xm[d] = x[i * DIM + d] - h * dir[d];
        reference_forward_d(m, flat, xp, t[i], row_label(m, i), vp);
        reference_forward_d(m, flat, xm, t[i], row_label(m, i), vm);
        for (int d = 0; d < DIM; d++) want[(j * N + i) * DIM + d] = (vp[d] - vm[d]) / (2 * h);
      }
    ck_assert_uint_eq(test_mismatches("jvp", got, want, K * N * DIM, 1e-4, 1e-3), 0);
    float *v = test_download(out, N * DIM);
    double want_v[N * DIM];
    for (int i = 0; i < N; i++)
      reference_forward(m, flat, x + i * DIM, t[i], row_label(m, i), want_v + i * DIM);
    ck_assert_uint_eq(test_mismatches("jvp value", v, want_v, N * DIM, 1e-5, 1e-4), 0);
    free(got), free(flat), free(v);
    cl_mem bufs[] = {dx, dt, dtg, out, out_tg, labels};
    for (int b = 0; b < 6; b++) fm_device_release(test_device(), bufs[b]);
    fm_mlp_destroy(m);
  }
}
END_TEST

START_TEST(init_follows_pytorch_linear_bounds) {
  fm_mlp_shape shape = {.dim = 2, .n_hidden = 2, .hidden = {256, 64}, .activation = FM_ACT_SILU};
  fm_mlp *m = NULL;
  ck_fm(fm_mlp_create(test_device(), &shape, 8, &m));
  ck_fm(fm_mlp_init(m, 5));
  ck_assert_uint_eq(fm_mlp_param_count(m), 3 * 256 + 256 + 256 * 64 + 64 + 64 * 2 + 2);
  double *flat = params_double(m);
  for (int l = 0; l < fm_mlp_layers(m); l++) {
    int in = fm_mlp_layer_in(m, l), out = fm_mlp_layer_out(m, l);
    double bound = 1 / sqrt((double)in), max = 0, sum2 = 0;
    size_t n = (size_t)in * out;
    for (size_t i = 0; i < n; i++) {
      double w = flat[fm_mlp_weight_offset(m, l) + i];
      max = fmax(max, fabs(w));
      sum2 += w * w;
    }
    ck_assert_msg(max <= bound && max > 0.9 * bound, "layer %d: max %g bound %g", l, max, bound);
    /* Uniform on +-bound has variance bound^2 / 3. */
    ck_assert_msg(fabs(sum2 / n / (bound * bound / 3) - 1) < 0.2, "layer %d variance", l);
    for (int j = 0; j < out; j++) ck_assert(fabs(flat[fm_mlp_bias_offset(m, l) + j]) <= bound);
  }
  free(flat);
  fm_mlp_destroy(m);
}
END_TEST

START_TEST(forward_refuses_a_batch_over_capacity) {
  fm_mlp *m = make_mlp(FM_ACT_SILU, 0);
  cl_mem x = test_zeros(100 * DIM), t = test_zeros(100), out = test_zeros(100 * DIM);
  ck_assert_int_eq(fm_mlp_forward(m, x, t, NULL, 65, out), FM_ERR_INVALID);
  fm_device_release(test_device(), x), fm_device_release(test_device(), t);
  fm_device_release(test_device(), out);
  fm_mlp_destroy(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("mlp");
  /* Three cases, each selectable with CK_RUN_CASE (tools/oclgrind.sh times them apart). */
  TCase *tc = tcase_create("mlp");
  tcase_set_timeout(tc, 900);
  tcase_add_loop_test(tc, forward_matches_reference_for_every_activation, 0, 6);
  tcase_add_loop_test(tc, backward_matches_finite_differences, 0, 6);
  tcase_add_loop_test(tc, jvp_matches_finite_differences_of_the_forward_pass, 0, 6);
  tcase_add_test(tc, init_follows_pytorch_linear_bounds);
  tcase_add_test(tc, forward_refuses_a_batch_over_capacity);
  suite_add_tcase(s, tc);
  TCase *gpu = tcase_create("gpu_path");
  tcase_set_timeout(gpu, 900);
  tcase_add_loop_test(gpu, gpu_path_gradients_match_the_cpu_kernels, 0, 4);
  tcase_add_test(gpu, a_small_work_group_limit_shrinks_the_kernels_or_names_the_one_that_cannot);
  suite_add_tcase(s, gpu);
  TCase *wide = tcase_create("wide");
  tcase_set_timeout(wide, 900);
  tcase_add_test(wide, backward_of_a_wide_layer_matches_clblast);
  suite_add_tcase(s, wide);
  return test_run_suite(s);
}
