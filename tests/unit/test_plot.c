/* Plots: figures written as PNG (decoded by libpng to the figure's pixels exactly), SVG and
 * PDF, ticks and labels, and plots that colour the pixels their data says, blend a line
 * once, refuse bad input and leave no file when a write fails. */
#define _GNU_SOURCE /* memmem */
#include <cairo.h>
#include <errno.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmcl/plot.h"
#include "support.h"

#define FM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define PATH_COLOR 0x6BAED6u /* what trajectory lines are drawn in */

/* A PNG file's pixels as 8-bit RGB, by libpng. */
static fm_image read_png(const char *path) {
  png_image png;
  memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  ck_assert_msg(png_image_begin_read_from_file(&png, path), "%s: %s", path, png.message);
  png.format = PNG_FORMAT_RGB;
  fm_image img = {malloc(PNG_IMAGE_SIZE(png)), (int)png.width, (int)png.height};
  ck_assert(img.rgb);
  ck_assert_msg(png_image_finish_read(&png, NULL, img.rgb, 0, NULL), "%s: %s", path, png.message);
  return img;
}

static uint8_t *read_file(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc((size_t)len + 1);
  ck_assert(fread(p, 1, (size_t)len, f) == (size_t)len);
  p[len] = 0;
  fclose(f);
  *n = (size_t)len;
  return p;
}

static fm_image pixels_of(const fm_figure *fig) {
  fm_image img;
  ck_fm(fm_figure_pixels(fig, &img));
  ck_assert(img.width == fig->width && img.height == fig->height);
  return img;
}

/* The pixels of a plot just drawn (status the plot function's), the figure freed. */
static fm_image drawn(fm_status st, fm_figure *fig) {
  ck_fm(st);
  fm_image img = pixels_of(fig);
  fm_figure_free(fig);
  return img;
}
#define draw(call) drawn(call, &fig)

static fm_color pixel(const fm_image *img, int x, int y) {
  const uint8_t *p = img->rgb + ((size_t)y * img->width + x) * 3;
  return (fm_color)p[0] << 16 | (fm_color)p[1] << 8 | p[2];
}

static int channel_distance(fm_color a, fm_color b) {
  int d = 0;
  for (int s = 0; s <= 16; s += 8) {
    int e = abs((int)((a >> s) & 255) - (int)((b >> s) & 255));
    if (e > d) d = e;
  }
  return d;
}

/* A plot with a bit of everything: points, lines, text, the frame. */
static fm_figure sample_plot(void) {
  enum { N = 500 };
  float x[2 * N];
  for (int i = 0; i < N; i++) {
    double a = i * 0.05;
    x[2 * i] = (float)(cos(a) * (1 + 0.002 * i)), x[2 * i + 1] = (float)(sin(a) * (1 + 0.002 * i));
  }
  fm_plot_points set = {.x = x, .n = N, .dim = 2, .cy = 1, .label = "spiral"};
  fm_plot_opts o = {0};
  o.title = "Round trip";
  o.xlabel = "x0";
  o.ylabel = "x1";
  fm_figure fig;
  ck_fm(fm_plot_scatter(&o, &set, 1, &fig, NULL));
  return fig;
}

/* ---- Files ---- */

START_TEST(written_png_decodes_to_the_figure_pixels_exactly) {
  char dir[] = "/tmp/fmcl-test-plot-XXXXXX", path[256], tmp[300];
  ck_assert(mkdtemp(dir));
  fm_figure fig = sample_plot();
  fm_image want = pixels_of(&fig);
  snprintf(path, sizeof path, "%s/plot.png", dir);
  ck_fm(fm_figure_write(&fig, path, FM_PLOT_PNG));
  fm_image got = read_png(path);
  ck_assert(got.width == 640 && got.height == 480);
  ck_assert(memcmp(got.rgb, want.rgb, (size_t)want.width * want.height * 3) == 0);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  ck_assert_msg(access(tmp, F_OK) != 0, "the temporary file was left behind");
  /* Text and dots are anti-aliased: many shades, not a handful. */
  static uint8_t seen[1 << 16];
  int shades = 0;
  for (size_t i = 0; i < (size_t)want.width * want.height; i++) {
    const uint8_t *q = want.rgb + 3 * i;
    unsigned k = (unsigned)(q[0] ^ q[1] << 4 ^ q[2] << 8) & 0xFFFF;
    shades += !seen[k], seen[k] = 1;
  }
  ck_assert_msg(shades > 40, "%d colours", shades);
  fm_image_free(&got);
  fm_image_free(&want);
  remove(path);

  /* A folder that does not exist. */
  snprintf(path, sizeof path, "%s/missing/plot.png", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  ck_assert_int_eq(fm_figure_write(&fig, path, FM_PLOT_PNG), FM_ERR_IO);
  ck_assert_msg(strstr(fm_error_message(), "missing/plot.png"), "%s", fm_error_message());
  ck_assert(access(path, F_OK) != 0 && access(tmp, F_OK) != 0);

  /* A path that is a folder: the rename fails, the folder stays, no temporary is left. */
  for (int format = FM_PLOT_PNG; format <= FM_PLOT_PDF; format++) {
    snprintf(path, sizeof path, "%s/folder", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert(mkdir(path, 0777) == 0);
    ck_assert_int_eq(fm_figure_write(&fig, path, (fm_plot_format)format), FM_ERR_IO);
    struct stat sb;
    ck_assert(stat(path, &sb) == 0 && S_ISDIR(sb.st_mode));
    ck_assert_msg(access(tmp, F_OK) != 0, "a failed write left %s", tmp);
    rmdir(path);
  }
  rmdir(dir);
  fm_figure_free(&fig);
  fm_figure_free(&fig); /* twice is harmless */
}
END_TEST

START_TEST(svg_and_pdf_are_vector_pages_of_the_figure) {
  char dir[] = "/tmp/fmcl-test-plot-XXXXXX", path[256];
  ck_assert(mkdtemp(dir));
  fm_figure fig = sample_plot();
  size_t n;
  snprintf(path, sizeof path, "%s/plot.svg", dir);
  ck_fm(fm_figure_write(&fig, path, FM_PLOT_SVG));
  char *svg = (char *)read_file(path, &n);
  ck_assert_msg(strstr(svg, "<svg") && strstr(svg, "width=\"640") && strstr(svg, "height=\"480"),
                "%.300s", svg);
  ck_assert_msg(strstr(svg, "</svg>"), "an unfinished SVG");
  /* The 500 dots are 500 vector paths, not an embedded picture. */
  int paths = 0;
  for (const char *q = svg; (q = strstr(q, "<path")); q++) paths++;
  ck_assert_msg(paths >= 500 && !strstr(svg, "<image"), "%d paths", paths);
  free(svg);
  remove(path);
  snprintf(path, sizeof path, "%s/plot.pdf", dir);
  ck_fm(fm_figure_write(&fig, path, FM_PLOT_PDF));
  char *pdf = (char *)read_file(path, &n);
  ck_assert_msg(n > 1000 && memcmp(pdf, "%PDF-1.", 7) == 0, "not a PDF (%zu bytes)", n);
  ck_assert(memmem(pdf, n, "/MediaBox [ 0 0 640 480 ]", 25) || memmem(pdf, n, "/MediaBox [0 0 640 480]", 23));
  ck_assert_msg(memmem(pdf, n, "%%EOF", 5) != NULL, "an unfinished PDF");
  ck_assert_msg(memmem(pdf, n, "/FontFile", 9) != NULL, "no embedded font");
  free(pdf);
  remove(path);
  rmdir(dir);
  fm_figure_free(&fig);
}
END_TEST

START_TEST(text_is_set_in_a_real_font) {
  const char *problem = fm_plot_font_problem();
  if (problem) {
    fprintf(stderr, "text_is_set_in_a_real_font: skipped: %s\n", problem);
    return;
  }
  /* A title's ink: wider text, more of it; and no ink where there is no text. */
  float x[4] = {0, 0, 1, 1};
  fm_plot_points set = {.x = x, .n = 2, .dim = 2};
  fm_plot_opts o = {0};
  long ink[2];
  const char *titles[2] = {"Il", "Samples over held-out data"};
  for (int k = 0; k < 2; k++) {
    o.title = titles[k];
    fm_figure fig;
    fm_plot_info info;
    ck_fm(fm_plot_scatter(&o, &set, 1, &fig, &info));
    fm_image img = pixels_of(&fig);
    ink[k] = 0;
    for (int y = 0; y < info.top - 4; y++)
      for (int c = 0; c < img.width; c++) ink[k] += pixel(&img, c, y) != 0xFFFFFF;
    fm_image_free(&img);
    fm_figure_free(&fig);
  }
  ck_assert_msg(ink[0] > 10 && ink[1] > 8 * ink[0], "title ink %ld and %ld", ink[0], ink[1]);
}
END_TEST

/* ---- Drawing ---- */

START_TEST(a_line_is_blended_once_where_it_crosses_itself) {
  /* A translucent series that crosses itself at (0.34, 0.34) and retraces a segment, all
   * off the grid lines (which would show through). */
  double x[6] = {0.03, 0.65, 0.03, 0.65, 0.03, 0.34}, y[6] = {0.03, 0.65, 0.65, 0.03, 0.03, 0.03};
  fm_plot_series s = {.x = x, .y = y, .n = 6, .color = 0x010101, .alpha = 0.5f, .width = 4};
  fm_plot_opts o = {0};
  o.xmin = -0.5, o.xmax = 1.5, o.ymin = -0.5, o.ymax = 1.5;
  fm_figure fig;
  fm_plot_info info;
  ck_fm(fm_plot_lines(&o, &s, 1, &fig, &info));
  fm_image img = pixels_of(&fig);
  double px, py;
  fm_plot_to_pixel(&info, 0.34, 0.34, &px, &py);
  fm_color crossing = pixel(&img, (int)px, (int)py);
  fm_plot_to_pixel(&info, 0.17, 0.17, &px, &py);
  fm_color single = pixel(&img, (int)px, (int)py);
  fm_plot_to_pixel(&info, 0.17, 0.03, &px, &py);
  fm_color retraced = pixel(&img, (int)px, (int)py);
  ck_assert_msg(channel_distance(single, 0x808080) <= 1, "half black over white is %06x", single);
  ck_assert_msg(crossing == single && retraced == single, "crossing %06x, retraced %06x, single %06x",
                crossing, retraced, single);
  fm_image_free(&img);
  fm_figure_free(&fig);
}
END_TEST

START_TEST(viridis_runs_dark_to_light) {
  ck_assert_uint_eq(fm_colormap_viridis(0), 0x440154);
  ck_assert_uint_eq(fm_colormap_viridis(1), 0xFDE725);
  ck_assert_uint_eq(fm_colormap_viridis(-3), 0x440154);
  ck_assert_uint_eq(fm_colormap_viridis(NAN), 0x440154);
  ck_assert_uint_eq(fm_colormap_viridis(7), 0xFDE725);
  double last = -1;
  for (int i = 0; i <= 50; i++) {
    fm_color c = fm_colormap_viridis(i / 50.0);
    double luma = 0.2126 * (c >> 16) + 0.7152 * ((c >> 8) & 255) + 0.0722 * (c & 255);
    ck_assert_msg(luma > last, "luma falls at t = %g", i / 50.0);
    last = luma;
  }
}
END_TEST

/* ---- Ticks ---- */

static void check_ticks(const char *what, const double *got, int n, const double *want, int n_want) {
  ck_assert_msg(n == n_want, "%s: %d ticks, want %d", what, n, n_want);
  for (int i = 0; i < n; i++)
    ck_assert_msg(fabs(got[i] - want[i]) <= 1e-12 * fmax(1, fabs(want[i])), "%s: tick %d is %.17g, want %g",
                  what, i, got[i], want[i]);
}

START_TEST(nice_ticks_for_several_ranges) {
  double t[32], step;
  int n = fm_ticks_linear(0, 1, 8, t, &step);
  check_ticks("[0, 1]", t, n, (double[]){0, 0.2, 0.4, 0.6, 0.8, 1}, 6);
  ck_assert_double_eq_tol(step, 0.2, 1e-15);
  n = fm_ticks_linear(-3.7, 12.1, 8, t, &step);
  check_ticks("[-3.7, 12.1]", t, n, (double[]){-2, 0, 2, 4, 6, 8, 10, 12}, 8);
  n = fm_ticks_linear(-3.7, 12.1, 5, t, &step);
  check_ticks("[-3.7, 12.1] in 5", t, n, (double[]){0, 5, 10}, 3);
  n = fm_ticks_linear(-250, 5250, 9, t, &step);
  check_ticks("[-250, 5250]", t, n, (double[]){0, 1000, 2000, 3000, 4000, 5000}, 6);
  n = fm_ticks_linear(0.00012, 0.00049, 5, t, &step);
  check_ticks("[1.2e-4, 4.9e-4]", t, n, (double[]){2e-4, 3e-4, 4e-4}, 3);
  ck_assert_double_eq_tol(step, 1e-4, 1e-18);
  ck_assert_int_eq(fm_ticks_linear(1, 1, 8, t, &step), 0);
  ck_assert_int_eq(fm_ticks_linear(0, INFINITY, 8, t, &step), 0);
  n = fm_ticks_log(1e-4, 1, 8, t);
  check_ticks("log [1e-4, 1]", t, n, (double[]){1e-4, 1e-3, 1e-2, 1e-1, 1}, 5);
  n = fm_ticks_log(0.3, 15, 8, t);
  check_ticks("log [0.3, 15]", t, n, (double[]){0.5, 1, 2, 5, 10}, 5);
  n = fm_ticks_log(1e-12, 1e12, 8, t);
  check_ticks("log [1e-12, 1e12]", t, n, (double[]){1e-12, 1e-8, 1e-4, 1, 1e4, 1e8, 1e12}, 7);
  n = fm_ticks_log(0.55, 0.95, 8, t);
  check_ticks("log [0.55, 0.95]", t, n, (double[]){0.6, 0.7, 0.8, 0.9}, 4);
  ck_assert_int_eq(fm_ticks_log(0, 1, 8, t), 0);
}
END_TEST

START_TEST(tick_labels_are_compact) {
  struct {
    double v, step;
    const char *want;
  } cases[] = {{0, 0.2, "0.0"},          {-0.0, 1, "0"},       {0.2 * 3, 0.2, "0.6"},
               {-2, 2, "-2"},          {0.5, 0.5, "0.5"},    {1000, 500, "1000"},
               {0.25, 0.05, "0.25"},   {2e-4, 1e-4, "2e-4"}, {2.5e-4, 5e-5, "2.5e-4"},
               {60000, 20000, "6e4"},  {1e-3, 0, "1e-3"},    {0.5, 0, "0.5"},
               {10, 0, "10"},          {250000, 0, "2.5e5"}, {1e-17, 0.1, "0.0"},
               {-1.5, 0.5, "-1.5"},    {0.001, 0.001, "0.001"}, {0.75, 0.25, "0.75"},
               {3, 0.5, "3.0"},        {0.1 + 0.2, 0.1, "0.3"}, {0, 0, "0"},
               {0, 1e-4, "0"},         {-0.0, 0.5, "0.0"},  {-1e-300, 2, "0"}};
  char buf[32];
  for (size_t i = 0; i < FM_ARRAY_LEN(cases); i++) {
    fm_tick_label(cases[i].v, cases[i].step, buf, sizeof buf);
    ck_assert_msg(strcmp(buf, cases[i].want) == 0, "%g (step %g): \"%s\", want \"%s\"", cases[i].v,
                  cases[i].step, buf, cases[i].want);
  }
}
END_TEST

/* ---- Plots ---- */

START_TEST(scatter_colours_the_expected_pixels) {
  float red[4] = {-0.5f, 0.5f, NAN, 0.0f}, blue[2] = {0.5f, -0.5f};
  fm_plot_points sets[2] = {
      {.x = red, .n = 2, .dim = 2, .cy = 1, .color = 0xFF0000, .alpha = 1.0f, .radius = 3.0f},
      {.x = blue, .n = 1, .dim = 2, .cy = 1, .color = 0x0000FF, .alpha = 1.0f, .radius = 3.0f}};
  fm_plot_opts o = {0};
  o.width = 240, o.height = 200;
  o.xmin = -1, o.xmax = 1, o.ymin = -1, o.ymax = 1;
  fm_figure fig;
  fm_image img;
  fm_plot_info info;
  img = draw(fm_plot_scatter(&o, sets, 2, &fig, &info));
  ck_assert_int_eq(info.skipped, 1);
  ck_assert(info.xmin == -1 && info.xmax == 1 && info.ymin == -1 && info.ymax == 1);
  const struct {
    double x, y;
    fm_color c;
  } dots[2] = {{-0.5, 0.5, 0xFF0000}, {0.5, -0.5, 0x0000FF}};
  for (int k = 0; k < 2; k++) {
    double px, py, sx = 0, sy = 0;
    fm_plot_to_pixel(&info, dots[k].x, dots[k].y, &px, &py);
    ck_assert_uint_eq(pixel(&img, (int)px, (int)py), dots[k].c);
    int count = 0;
    for (int y = 0; y < img.height; y++)
      for (int x = 0; x < img.width; x++)
        if (pixel(&img, x, y) == dots[k].c) {
          ck_assert_msg(hypot(x + 0.5 - px, y + 0.5 - py) < 3.5, "stray %06x pixel at (%d, %d)", dots[k].c, x, y);
          sx += x + 0.5, sy += y + 0.5, count++;
        }
    ck_assert_msg(count >= 12, "%d pixels of %06x", count, dots[k].c);
    ck_assert_msg(fabs(sx / count - px) < 0.5 && fabs(sy / count - py) < 0.5,
                  "dot %d centred at (%g, %g), want (%g, %g)", k, sx / count, sy / count, px, py);
  }
  /* The limits fall on the frame's pixel lines, and the tick for 0 below the centre. */
  int mid = (info.top + info.bottom) / 2, centre = (int)floor(info.left + 0.5 + 0.5 * (info.right - info.left));
  ck_assert_uint_eq(pixel(&img, info.left, mid), 0x222222);
  ck_assert_uint_eq(pixel(&img, info.right, mid), 0x222222);
  ck_assert_uint_ne(pixel(&img, info.left + 1, mid), 0x222222);
  ck_assert_uint_eq(pixel(&img, centre, info.bottom + 2), 0x222222);
  ck_assert_uint_eq(pixel(&img, centre - 1, info.bottom + 2), 0xFFFFFF);
  ck_assert_uint_eq(pixel(&img, centre + 1, info.bottom + 2), 0xFFFFFF);
  fm_image_free(&img);
}
END_TEST

START_TEST(scatter_limits_from_data_hold_every_point_with_equal_axes) {
  float x[6] = {0, 0, 10, 1, 5, -1};
  fm_plot_points set = {.x = x, .n = 3, .dim = 2};
  fm_figure fig;
  fm_image img;
  fm_plot_info info;
  img = draw(fm_plot_scatter(NULL, &set, 1, &fig, &info));
  ck_assert_int_eq(img.width, 640);
  ck_assert(info.xmin < 0 && info.xmax > 10 && info.ymin < -1 && info.ymax > 1);
  double ux = (info.xmax - info.xmin) / (info.right - info.left);
  double uy = (info.ymax - info.ymin) / (info.bottom - info.top);
  ck_assert_msg(fabs(ux / uy - 1) < 1e-9, "x and y units differ: %g and %g per pixel", ux, uy);
  ck_assert(info.equal_scale);
  fm_image_free(&img);
}
END_TEST

START_TEST(scatter_of_incommensurable_coordinates_scales_each_axis_and_says_so) {
  /* x spans about 300, y about 0.6: equal units would flatten y to a line. */
  float x[8] = {850, -20.3f, 1000, -20, 1150, -19.7f, 990, -20.1f};
  fm_plot_points set = {.x = x, .n = 4, .dim = 2};
  fm_figure fig;
  fm_image img, plain;
  fm_plot_info info;
  img = draw(fm_plot_scatter(NULL, &set, 1, &fig, &info));
  ck_assert(!info.equal_scale);
  /* The frame spans the data on both axes... */
  ck_assert(info.ymin > -20.5 && info.ymax < -19.5);
  ck_assert(info.xmin > 800 && info.xmax < 1200);
  /* ...and a note under the title says so: the image has ink above the frame that a plot
   * with commensurable data and no title does not. */
  float near[8] = {0, 0, 1, 1, 2, 0.5f, 1, 0.2f};
  set.x = near;
  fm_plot_info plain_info;
  plain = draw(fm_plot_scatter(NULL, &set, 1, &fig, &plain_info));
  ck_assert(plain_info.equal_scale);
  ck_assert_int_lt(plain_info.top, info.top);
  long ink = 0;
  for (int y = 0; y < info.top - 4; y++)
    for (int c = 0; c < img.width; c++) ink += pixel(&img, c, y) != 0xFFFFFF;
  ck_assert_msg(ink > 50, "no note above the frame (%ld dark pixels)", ink);
  fm_image_free(&img);
  fm_image_free(&plain);
}
END_TEST

START_TEST(heatmap_shows_values_through_viridis) {
  float v[2] = {0, 1}; /* cell 0 over x in [0, 1], cell 1 over [1, 2] */
  fm_plot_grid g = {.v = v, .nx = 2, .ny = 1, .xmax = 2, .ymax = 1, .label = "value"};
  fm_plot_opts o = {0};
  o.aspect = FM_ASPECT_FREE;
  fm_figure fig;
  fm_image img;
  fm_plot_info info;
  img = draw(fm_plot_heatmap(&o, &g, &fig, &info));
  ck_assert(info.xmin == 0 && info.xmax == 2 && info.ymin == 0 && info.ymax == 1);
  int mid = (info.top + info.bottom) / 2;
  /* Left of the first cell's centre the value is 0, right of the last one's 1. */
  ck_assert_uint_eq(pixel(&img, info.left + 3, mid), 0x440154);
  ck_assert_uint_eq(pixel(&img, info.right - 3, mid), 0xFDE725);
  double px, py;
  fm_plot_to_pixel(&info, 1.0, 0.5, &px, &py);
  ck_assert_int_le(channel_distance(pixel(&img, (int)px, (int)py), fm_colormap_viridis(0.5)), 4);
  /* The colour bar: the top colour somewhere right of the frame. */
  int found = 0;
  for (int x = info.right + 1; x < img.width; x++)
    found |= channel_distance(pixel(&img, x, info.top + 1), 0xFDE725) <= 4;
  ck_assert_msg(found, "no colour bar right of the frame");
  fm_image_free(&img);

  /* Equal axes by default: a 2:1 area gets a 2:1 frame. */
  img = draw(fm_plot_heatmap(NULL, &g, &fig, &info));
  double ratio = (double)(info.right - info.left) / (info.bottom - info.top);
  ck_assert_msg(fabs(ratio - 2) < 0.02, "frame ratio %g, want 2", ratio);
  fm_image_free(&img);

  float holes[4] = {0, NAN, INFINITY, 1};
  fm_plot_grid h = {.v = holes, .nx = 2, .ny = 2, .xmin = -1, .xmax = 1, .ymin = -1, .ymax = 1};
  img = draw(fm_plot_heatmap(NULL, &h, &fig, &info));
  ck_assert_int_eq(info.skipped, 2);
  fm_image_free(&img);
}
END_TEST

START_TEST(trajectories_mark_starts_and_ends) {
  /* Two paths of three snapshots, (steps, n, dim); the second has a NaN and is skipped. */
  float x[3][2][2] = {{{0, 0}, {1.5f, -0.5f}}, {{0.5f, 0.5f}, {NAN, 0}}, {{1, 1}, {1.5f, 1.5f}}};
  fm_plot_opts o = {0};
  o.xmin = -1, o.xmax = 2, o.ymin = -1, o.ymax = 2;
  o.legend = FM_LEGEND_NONE;
  fm_figure fig;
  fm_image img;
  fm_plot_info info;
  img = draw(fm_plot_trajectories(&o, &x[0][0][0], 3, 2, 2, 0, 1, &fig, &info));
  ck_assert_int_eq(info.skipped, 1);
  double px, py;
  fm_plot_to_pixel(&info, 0, 0, &px, &py);
  fm_color start = pixel(&img, (int)px, (int)py);
  fm_plot_to_pixel(&info, 1, 1, &px, &py);
  fm_color end = pixel(&img, (int)px, (int)py);
  ck_assert_msg(channel_distance(start, FM_COLOR_ORANGE) < 40, "start is %06x", start);
  ck_assert_msg(channel_distance(end, FM_COLOR_BLUE) < 40, "end is %06x", end);
  fm_plot_to_pixel(&info, 0.25, 0.25, &px, &py);
  fm_color line = pixel(&img, (int)px, (int)py);
  ck_assert_msg(line != 0xFFFFFF && (line & 255) > ((line >> 16) & 255), "no light blue path: %06x", line);
  /* Nothing of the skipped path, neither its ends nor its line. */
  fm_plot_to_pixel(&info, 1.5, -0.5, &px, &py);
  ck_assert_msg(channel_distance(pixel(&img, (int)px, (int)py), FM_COLOR_ORANGE) > 40, "skipped start drawn");
  fm_plot_to_pixel(&info, 1.5, 1.5, &px, &py);
  ck_assert_msg(channel_distance(pixel(&img, (int)px, (int)py), FM_COLOR_BLUE) > 40, "skipped end drawn");
  fm_plot_to_pixel(&info, 1.5, 0.5, &px, &py);
  ck_assert_msg(channel_distance(pixel(&img, (int)px, (int)py), PATH_COLOR) > 40, "skipped line drawn");
  fm_image_free(&img);
}
END_TEST

START_TEST(trajectories_legend_names_the_source) {
  float x[2][1][2] = {{{0, 0}}, {{1, 1}}};
  fm_plot_opts o = {.xmin = -1, .xmax = 2, .ymin = -1, .ymax = 2};
  fm_figure fig;
  fm_image noise, moons;
  noise = draw(fm_plot_trajectories(&o, &x[0][0][0], 2, 1, 2, 0, 1, &fig, NULL));
  o.start_label = "moons, t=0";
  moons = draw(fm_plot_trajectories(&o, &x[0][0][0], 2, 1, 2, 0, 1, &fig, NULL));
  /* Only the legend's text differs. */
  long differ = 0;
  for (int y = 0; y < noise.height; y++)
    for (int c = 0; c < noise.width; c++) differ += pixel(&noise, c, y) != pixel(&moons, c, y);
  ck_assert_msg(differ > 20 && differ < 2000, "%ld pixels differ", differ);
  fm_image_free(&noise);
  fm_image_free(&moons);
}
END_TEST

START_TEST(line_plot_on_log_axis_skips_what_it_cannot_show) {
  double y[6] = {1, 10, 0, -1, 100, NAN};
  fm_plot_series s = {.y = y, .n = 6, .color = 0xFF0000, .alpha = 1.0f, .width = 3.0f, .label = "loss"};
  fm_plot_opts o = {0};
  o.log_y = 1;
  fm_figure fig;
  fm_image img;
  fm_plot_info info;
  img = draw(fm_plot_lines(&o, &s, 1, &fig, &info));
  ck_assert_int_eq(info.skipped, 3);
  ck_assert(info.log_y);
  ck_assert(info.ymin < 0 && info.ymax > 2 && info.ymin > -0.5 && info.ymax < 2.5);
  double px, py;
  fm_plot_to_pixel(&info, 1, 10, &px, &py);
  ck_assert_uint_eq(pixel(&img, (int)px, (int)py), 0xFF0000);
  fm_plot_to_pixel(&info, 0.5, sqrt(10), &px, &py); /* halfway, in log space */
  ck_assert_uint_eq(pixel(&img, (int)px, (int)py), 0xFF0000);
  fm_plot_to_pixel(&info, 4, 100, &px, &py); /* alone after a break: a dot */
  ck_assert_uint_eq(pixel(&img, (int)px, (int)py), 0xFF0000);
  fm_plot_to_pixel(&info, 3, 31.6, &px, &py); /* no line across the break */
  ck_assert_uint_ne(pixel(&img, (int)px, (int)py), 0xFF0000);
  fm_image_free(&img);
}
END_TEST

START_TEST(image_grid_shows_each_image_in_its_cell) {
  /* 2 x 3 cells of 4 x 2 images: image k is all k / 5 of the way from black to white, but
   * cell 4 is left out and image 5 has a NaN pixel (red) in its top-left corner. */
  enum { H = 4, W = 2 };
  float x[6][H * W];
  for (int k = 0; k < 6; k++)
    for (int i = 0; i < H * W; i++) x[k][i] = -1 + 2 * k / 5.0f;
  x[5][0] = NAN;
  unsigned char present[6] = {1, 1, 1, 1, 0, 1};
  const char *rows[2] = {"first", "second"}, *cols[3] = {"a", "b", "c"};
  fm_plot_image_grid g = {.x = &x[0][0], .present = present, .rows = 2, .cols = 3, .height = H,
                          .width = W, .vmin = -1, .vmax = 1, .row_labels = rows, .col_labels = cols};
  fm_plot_opts o = {.title = "Grid"};
  fm_figure fig;
  fm_image img = draw(fm_plot_images(&o, &g, &fig));
  /* Images magnified 14 times (56 / 4) into cells 4 pixels apart, from the lower right. */
  int zoom = 14, cw = W * zoom, ch = H * zoom, gap = 4, right = img.width - 8, bottom = img.height - 8;
  for (int k = 0; k < 6; k++) {
    int r = k / 3, c = k % 3;
    int x0 = right - (3 - c) * (cw + gap) + gap, y0 = bottom - (2 - r) * (ch + gap) + gap;
    fm_color centre = pixel(&img, x0 + cw / 2, y0 + ch / 2);
    unsigned grey = (unsigned)(255 * k / 5.0 + 0.5);
    if (k == 4) ck_assert_msg(centre == 0xFFFFFF, "cell 4 drawn: %06x", centre);
    else ck_assert_msg(centre == grey * 0x010101u, "image %d is %06x, want grey %02x", k, centre, grey);
    if (k == 5) ck_assert_uint_eq(pixel(&img, x0 + 1, y0 + 1), 0xFF0000);
  }
  /* Labels left of the rows and over the columns: ink there. */
  long ink = 0;
  for (int y = 0; y < img.height; y++)
    for (int c = 0; c < right - 3 * (cw + gap) - 2; c++) ink += pixel(&img, c, y) != 0xFFFFFF;
  ck_assert_msg(ink > 40, "row labels: %ld pixels", ink);
  fm_image_free(&img);
  g.vmin = g.vmax = 0;
  ck_assert_int_eq(fm_plot_images(NULL, &g, &fig), FM_ERR_INVALID);
  ck_assert(fig.recording == NULL);
  g.vmin = -1, g.vmax = 1, g.rows = 65;
  ck_assert_int_eq(fm_plot_images(NULL, &g, &fig), FM_ERR_INVALID);
  ck_assert_msg(strstr(fm_error_message(), "from 1 to 64"), "%s", fm_error_message());
}
END_TEST

START_TEST(bad_input_is_refused_with_a_message) {
  float pts[4] = {0, 0, 1, 1}, nan2[4] = {NAN, 0, 1, INFINITY};
  fm_figure img;
  fm_plot_points set = {.x = pts, .dim = 2, .cy = 1};
/* Bad arguments are FM_ERR_INVALID; nothing finite to draw is FM_ERR_NUMERIC. */
#define REFUSED_AS(status, call, text)                                                           \
  do {                                                                                           \
    img.recording = (void *)1;                                                                   \
    ck_assert_int_eq((call), status);                                                            \
    ck_assert_msg(strstr(fm_error_message(), text), "%s: message \"%s\" lacks \"%s\"", #call,    \
                  fm_error_message(), text);                                                     \
    ck_assert_msg(img.recording == NULL, "%s left a figure", #call);                              \
  } while (0)
#define REFUSED(call, text) REFUSED_AS(FM_ERR_INVALID, call, text)
#define NOTHING_TO_DRAW(call, text) REFUSED_AS(FM_ERR_NUMERIC, call, text)
  REFUSED(fm_plot_scatter(NULL, &set, 1, &img, NULL), "n must be positive, got 0");
  set.n = 2, set.cx = 0, set.cy = 2;
  REFUSED(fm_plot_scatter(NULL, &set, 1, &img, NULL), "scatter plot: set 0: columns 0 and 2");
  set.cy = 1, set.x = nan2;
  NOTHING_TO_DRAW(fm_plot_scatter(NULL, &set, 1, &img, NULL), "none of the 2 points is finite");
  set.x = pts;
  REFUSED(fm_plot_scatter(NULL, &set, 0, &img, NULL), "no point sets");
  fm_plot_opts o = {0};
  o.width = 100;
  REFUSED(fm_plot_scatter(&o, &set, 1, &img, NULL), "from 160 to 8192");
  o.width = 0, o.xmin = 2, o.xmax = 1;
  REFUSED(fm_plot_scatter(&o, &set, 1, &img, NULL), "xmin must be below xmax");
  fm_plot_opts lo = {0};
  lo.log_y = 1, lo.ymin = 0, lo.ymax = 10;
  double y[2] = {1, 2};
  fm_plot_series s = {.y = y, .n = 2};
  REFUSED(fm_plot_lines(&lo, &s, 1, &img, NULL), "ymin must be positive");
  double neg[2] = {-1, 0};
  s.y = neg;
  lo.ymin = lo.ymax = 0;
  NOTHING_TO_DRAW(fm_plot_lines(&lo, &s, 1, &img, NULL), "finite and positive");
  s.y = NULL;
  REFUSED(fm_plot_lines(NULL, &s, 1, &img, NULL), "y is NULL");
  float v[4] = {0, 1, 2, 3};
  fm_plot_grid g = {.v = v, .ny = 4, .xmax = 1, .ymax = 1};
  REFUSED(fm_plot_heatmap(NULL, &g, &img, NULL), "0 x 4 grid has no cells");
  g.nx = 2, g.ny = 2, g.xmax = 0;
  REFUSED(fm_plot_heatmap(NULL, &g, &img, NULL), "each min must be below its max");
  g.xmax = 1, g.vmin = 1, g.vmax = 0;
  REFUSED(fm_plot_heatmap(NULL, &g, &img, NULL), "vmin must be below vmax");
  REFUSED(fm_plot_trajectories(NULL, pts, 1, 2, 2, 0, 1, &img, NULL), "at least 2");
  REFUSED(fm_plot_trajectories(NULL, pts, 2, 0, 2, 0, 1, &img, NULL), "n must be positive");
  NOTHING_TO_DRAW(fm_plot_trajectories(NULL, nan2, 2, 1, 2, 0, 1, &img, NULL),
                  "none of the 1 trajectories");
#undef NOTHING_TO_DRAW
#undef REFUSED
#undef REFUSED_AS
  fm_image_free(NULL);
  fm_figure_free(NULL);
  fm_figure empty = {0};
  fm_image pixels;
  ck_assert_int_eq(fm_figure_pixels(&empty, &pixels), FM_ERR_INVALID);
  ck_assert(pixels.rgb == NULL);
  ck_assert_int_eq(fm_figure_write(&empty, "/tmp/fmcl-never.png", FM_PLOT_PNG), FM_ERR_INVALID);
  ck_assert(access("/tmp/fmcl-never.png", F_OK) != 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("plot");
  TCase *tc = tcase_create("plot");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, written_png_decodes_to_the_figure_pixels_exactly);
  tcase_add_test(tc, svg_and_pdf_are_vector_pages_of_the_figure);
  tcase_add_test(tc, text_is_set_in_a_real_font);
  tcase_add_test(tc, a_line_is_blended_once_where_it_crosses_itself);
  tcase_add_test(tc, viridis_runs_dark_to_light);
  tcase_add_test(tc, nice_ticks_for_several_ranges);
  tcase_add_test(tc, tick_labels_are_compact);
  tcase_add_test(tc, scatter_colours_the_expected_pixels);
  tcase_add_test(tc, scatter_limits_from_data_hold_every_point_with_equal_axes);
  tcase_add_test(tc, scatter_of_incommensurable_coordinates_scales_each_axis_and_says_so);
  tcase_add_test(tc, heatmap_shows_values_through_viridis);
  tcase_add_test(tc, trajectories_mark_starts_and_ends);
  tcase_add_test(tc, trajectories_legend_names_the_source);
  tcase_add_test(tc, line_plot_on_log_axis_skips_what_it_cannot_show);
  tcase_add_test(tc, image_grid_shows_each_image_in_its_cell);
  tcase_add_test(tc, bad_input_is_refused_with_a_message);
  suite_add_tcase(s, tc);
  int failed = test_run_suite(s);
  /* cairo's and fontconfig's caches outlive the figures; emptied, the leak check sees only
   * what a figure kept. */
  cairo_debug_reset_static_data();
  FcFini();
  return failed;
}
