/* The frame every plot draws in: nice ticks and their labels, the layout of the frame,
 * title and axis labels, the axes, the legend and the colour bar, and the mapping from data
 * to pixels. */
#include "plot_frame.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PI 3.14159265358979323846

const fm_color fm_palette[6] = {FM_COLOR_GREY,  FM_COLOR_BLUE, FM_COLOR_ORANGE,
                                FM_COLOR_GREEN, FM_COLOR_RED,  FM_COLOR_PURPLE};

int fm_ticks_linear(double lo, double hi, int max_ticks, double *ticks, double *step) {
  if (step) *step = 0;
  if (!isfinite(lo) || !isfinite(hi) || !(lo < hi) || max_ticks < 1) return 0;
  static const double mult[3] = {1, 2, 5};
  double mag = pow(10, floor(log10((hi - lo) / max_ticks)));
  for (;; mag *= 10)
    for (int m = 0; m < 3; m++) {
      double s = mult[m] * mag, k0 = ceil(lo / s - 1e-9), k1 = floor(hi / s + 1e-9);
      if (k1 - k0 + 1 > max_ticks) continue;
      int n = 0;
      for (double k = k0; k <= k1; k++) {
        double v = k * s;
        ticks[n++] = fabs(v) < 1e-9 * s ? 0.0 : v;
      }
      if (step) *step = s;
      return n;
    }
}

int fm_ticks_log(double lo, double hi, int max_ticks, double *ticks) {
  if (!(lo > 0) || !(hi > lo) || !isfinite(hi) || max_ticks < 1) return 0;
  int e0 = (int)ceil(log10(lo) - 1e-9), e1 = (int)floor(log10(hi) + 1e-9), n = 0;
  if (e1 - e0 + 1 < 3) {
    static const double mult[3] = {1, 2, 5};
    double v[12];
    for (int e = e0 - 1; e <= e1; e++)
      for (int m = 0; m < 3; m++) {
        double t = mult[m] * pow(10, e);
        if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) v[n++] = t;
      }
    if (n >= 3 && n <= max_ticks) {
      memcpy(ticks, v, (size_t)n * sizeof *v);
      return n;
    }
    double step;
    if (n < 3 || e1 - e0 + 1 < 2) return fm_ticks_linear(lo, hi, max_ticks, ticks, &step);
    n = 0; /* too many for 1, 2, 5: the powers of ten after all */
  }
  int k = 1;
  while (floor((double)e1 / k) - ceil((double)e0 / k) + 1 > max_ticks) k++;
  for (int e = (int)ceil((double)e0 / k) * k; e <= e1; e += k) ticks[n++] = pow(10, e);
  return n;
}

/* "1.5e-04" as "1.5e-4": the shortest mantissa that gives v back within tol. */
static void exponent_label(double v, double tol, char *buf, size_t size) {
  char tmp[48];
  for (int p = 0; p <= 6; p++) {
    snprintf(tmp, sizeof tmp, "%.*e", p, v);
    if (fabs(strtod(tmp, NULL) - v) <= tol) break;
  }
  char *e = strchr(tmp, 'e');
  int exp10 = e ? atoi(e + 1) : 0;
  if (e) *e = '\0';
  snprintf(buf, size, "%se%d", tmp, exp10);
}

void fm_tick_label(double value, double step, char *buf, size_t size) {
  if (!isfinite(value)) {
    snprintf(buf, size, "%g", value);
    return;
  }
  double a = fabs(value);
  if (step > 0 && a < 1e-6 * step) value = 0, a = 0; /* a tick at zero, give or take rounding */
  /* Exponents from 1e-3 down and from 1e5 up (for an axis: steps below 1e-3 or from 1e4). */
  if (step > 0 ? step >= 1e4 || step < 1e-3 : a == 0 || a >= 1e5 || a < 1.000001e-3) {
    if (a == 0) snprintf(buf, size, "0");
    else exponent_label(value, step > 0 ? 1e-3 * step : 1e-9 * a, buf, size);
    return;
  }
  /* As many decimals as the step needs (0.25 needs two), so that an axis's labels agree
   * ("0.0", "0.5", "1.0"); without a step, as many as the value needs. */
  double of = step > 0 ? step : a;
  int decimals = 0;
  while (decimals < 9 && fabs(round(of * pow(10, decimals)) / pow(10, decimals) - of) > 1e-9 * of)
    decimals++;
  snprintf(buf, size, "%.*f", decimals, value);
}


fm_color fm_colormap_viridis(double t) {
  /* matplotlib's viridis at t = 0, 1/9, ..., 1, interpolated linearly. */
  static const fm_color stops[10] = {0x440154, 0x482878, 0x3E4989, 0x31688E, 0x26828E,
                                     0x1F9E89, 0x35B779, 0x6ECE58, 0xB5DE2B, 0xFDE725};
  if (!(t > 0)) t = 0;
  if (t > 1) t = 1;
  double f = t * 9;
  int i = f >= 9 ? 8 : (int)f;
  double w = f - i;
  fm_color c = 0;
  for (int shift = 16; shift >= 0; shift -= 8) {
    double a = (stops[i] >> shift) & 255, b = (stops[i + 1] >> shift) & 255;
    c |= (fm_color)(a + (b - a) * w + 0.5) << shift;
  }
  return c;
}

/* Pixel coordinate of axis value t when lo falls on the centre of pixel line `from` and
 * hi on that of `to`. */
static double along(const fm_axis *a, double t, int from, int to) {
  return from + 0.5 + (t - a->lo) / (a->hi - a->lo) * (to - from);
}

double fm_frame_x(const fm_frame *p, double v) { return along(&p->x, v, p->left, p->right); }

double fm_frame_y(const fm_frame *p, double v) {
  return along(&p->y, p->y.log ? log10(v) : v, p->bottom, p->top);
}

/* ---- Drawing ---- */

static void set_colour(cairo_t *cr, fm_color c, double alpha) {
  cairo_set_source_rgba(cr, (c >> 16 & 255) / 255.0, (c >> 8 & 255) / 255.0, (c & 255) / 255.0,
                        alpha);
}

void fm_frame_rect(fm_frame *p, double x, double y, double w, double h, fm_color c, double alpha) {
  set_colour(p->cr, c, alpha);
  cairo_rectangle(p->cr, x, y, w, h);
  cairo_fill(p->cr);
}

/* Far outside the figure a coordinate only needs its side: cairo's fixed point holds
 * about +-8e6. */
static double near(double v) { return v < -1e6 ? -1e6 : v > 1e6 ? 1e6 : v; }

void fm_frame_disk(fm_frame *p, double x, double y, double r, fm_color c, double alpha) {
  if (!(fabs(x) < 1e6 && fabs(y) < 1e6)) return;
  set_colour(p->cr, c, alpha);
  cairo_new_path(p->cr);
  cairo_arc(p->cr, x, y, r, 0, 2 * PI);
  cairo_fill(p->cr);
}

void fm_frame_polyline(fm_frame *p, const double *xy, int n, double width, fm_color c,
                       double alpha) {
  cairo_t *cr = p->cr;
  cairo_new_path(cr);
  for (int i = 0; i < n; i++) cairo_line_to(cr, near(xy[2 * i]), near(xy[2 * i + 1]));
  if (n == 1) cairo_line_to(cr, near(xy[0]), near(xy[1])); /* a round dot */
  cairo_set_line_width(cr, width);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  set_colour(cr, c, alpha);
  cairo_stroke(cr);
}

void fm_frame_clip(fm_frame *p, int clip) {
  if (!clip) {
    cairo_restore(p->cr);
    return;
  }
  cairo_save(p->cr);
  cairo_rectangle(p->cr, p->left, p->top, p->right - p->left + 1, p->bottom - p->top + 1);
  cairo_clip(p->cr);
}

/* ---- Text: a line's box is LINE_H high, its baseline ASCENT below the top ---- */

#define ASCENT (0.93 * FONT)

double fm_frame_text_width(fm_frame *p, const char *t, double size) {
  cairo_text_extents_t e;
  cairo_set_font_size(p->cr, size);
  cairo_text_extents(p->cr, t, &e);
  return e.x_advance;
}

void fm_frame_text(fm_frame *p, double x, double y, const char *t, double size, fm_color c,
                   int up) {
  cairo_t *cr = p->cr;
  cairo_save(cr);
  cairo_set_font_size(cr, size);
  set_colour(cr, c, 1.0);
  cairo_translate(cr, x, y);
  if (up) cairo_rotate(cr, -PI / 2);
  cairo_move_to(cr, 0, 0);
  cairo_show_text(cr, t);
  cairo_restore(cr);
}

/* ---- Layout ---- */

static void axis_ticks(fm_frame *p, fm_axis *a, int length, int spacing) {
  int max = length / spacing;
  max = max < 2 ? 2 : max > FM_MAX_TICKS ? FM_MAX_TICKS : max;
  double v[FM_MAX_TICKS], step = 0;
  a->n = a->log ? fm_ticks_log(pow(10, a->lo), pow(10, a->hi), max, v)
                : fm_ticks_linear(a->lo, a->hi, max, v, &step);
  a->n_minor = 0;
  a->label_w = 0;
  int decades = a->log && a->n >= 2;
  for (int i = 0; i < a->n; i++) {
    a->tick[i] = a->log ? log10(v[i]) : v[i];
    fm_tick_label(v[i], step, a->label[i], sizeof a->label[i]);
    a->label_w = fmax(a->label_w, fm_frame_text_width(p, a->label[i], FONT * p->s));
    if (a->log && fabs(a->tick[i] - round(a->tick[i])) > 1e-9) decades = 0;
  }
  if (!decades) return;
  /* Unlabelled marks: 2, ..., 9 x 10^e, or the decades between labelled ones. */
  int k = (int)round(a->tick[1] - a->tick[0]);
  for (double e = floor(a->lo); e <= a->hi; e++)
    for (int m = k == 1 ? 2 : 1; m <= (k == 1 ? 9 : 1); m++) {
      double t = e + log10(m);
      int major = k > 1 && fmod(fabs(e - a->tick[0]), k) < 0.5;
      if (!major && t >= a->lo && t <= a->hi && a->n_minor < FM_MAX_MINOR) a->minor[a->n_minor++] = t;
    }
}

static int bar_room(const fm_frame *p) {
  int s = p->s;
  return (int)ceil((BAR_GAP + BAR_W + TICK + TICK_GAP) * s + p->cb.label_w +
                   (p->bar_label ? (LABEL_GAP + LINE_H) * s : 0));
}

/* Places the frame and ticks: margins for the title, the tick labels and the axis labels,
 * recomputed until the labels of the final ticks fit them. */
void fm_frame_layout(fm_frame *p, double xlo, double xhi, double ylo, double yhi, fm_fit f) {
  const fm_plot_opts *o = p->o;
  int s = p->s, W = p->fig->width, H = p->fig->height;
  int top = (int)ceil(PAD * s + (o->title ? (1.17 * TITLE_FONT + TITLE_GAP) * s : 0) +
                      (p->note ? (LINE_H + TITLE_GAP / 2) * s : 0));
  int bottom = (int)(H - 1 - (PAD + TICK + TICK_GAP + LINE_H) * s -
                     (o->xlabel ? (LABEL_GAP + LINE_H) * s : 0));
  int lm = PAD * s, rm = PAD * s;
  for (int iter = 0; iter < 6; iter++) {
    int L = lm, R = W - 1 - rm, T = top, B = bottom;
    if (R < L + 16) R = L + 16;
    if (B < T + 16) B = T + 16;
    double xl = xlo, xh = xhi, yl = ylo, yh = yhi;
    double ux = (xh - xl) / (R - L), uy = (yh - yl) / (B - T);
    if (f == FM_FIT_EXPAND) {
      double u = fmax(ux, uy), xc = 0.5 * (xl + xh), yc = 0.5 * (yl + yh);
      xl = xc - 0.5 * u * (R - L), xh = xc + 0.5 * u * (R - L);
      yl = yc - 0.5 * u * (B - T), yh = yc + 0.5 * u * (B - T);
    } else if (f == FM_FIT_SHRINK && ux < uy) {
      int w = (int)lround((xh - xl) / uy);
      L += (R - L - w) / 2, R = L + w;
    } else if (f == FM_FIT_SHRINK) {
      int h = (int)lround((yh - yl) / ux);
      T += (B - T - h) / 2, B = T + h;
    }
    p->left = L, p->right = R, p->top = T, p->bottom = B;
    p->x.lo = xl, p->x.hi = xh, p->y.lo = yl, p->y.hi = yh;
    axis_ticks(p, &p->x, R - L, 64 * s);
    axis_ticks(p, &p->y, B - T, 36 * s);
    if (p->bar) axis_ticks(p, &p->cb, B - T, 36 * s);
    int lm2 = (int)ceil((PAD + TICK + TICK_GAP) * s + p->y.label_w +
                        (o->ylabel ? (LINE_H + LABEL_GAP) * s : 0));
    int over = 0; /* how far the last x label reaches right of the frame */
    if (p->x.n > 0) {
      double c = along(&p->x, p->x.tick[p->x.n - 1], L, R);
      double w = fm_frame_text_width(p, p->x.label[p->x.n - 1], FONT * s);
      over = (int)ceil(c + 0.5 * w + 1 - R);
    }
    if (p->bar) over -= (BAR_GAP - 2) * s; /* the gap before the colour bar takes some */
    int rm2 = PAD * s + (p->bar ? bar_room(p) : 0) + (over > 0 ? over : 0);
    if (f == FM_FIT_SHRINK) rm2 = rm2 > rm ? rm2 : rm; /* the centred frame may move; never back */
    if (lm2 == lm && rm2 == rm) break;
    lm = lm2, rm = rm2;
  }
}

/* ---- Axes ---- */

void fm_frame_grid(fm_frame *p) {
  int s = p->s;
  for (int i = 0; i < p->x.n; i++) {
    int c = (int)floor(along(&p->x, p->x.tick[i], p->left, p->right));
    fm_frame_rect(p, c - (s - 1) / 2, p->top, s, p->bottom - p->top + 1, GRID, 1.0);
  }
  for (int i = 0; i < p->y.n; i++) {
    int r = (int)floor(along(&p->y, p->y.tick[i], p->bottom, p->top));
    fm_frame_rect(p, p->left, r - (s - 1) / 2, p->right - p->left + 1, s, GRID, 1.0);
  }
}

/* An s pixels thick outline growing outwards from the box [x0, x1] x [y0, y1]. */
static void outline(fm_frame *p, int x0, int y0, int x1, int y1, fm_color c) {
  int s = p->s, w = x1 - x0 + 2 * s - 1, h = y1 - y0 + 2 * s - 1;
  fm_frame_rect(p, x0 - s + 1, y0 - s + 1, w, s, c, 1.0);
  fm_frame_rect(p, x0 - s + 1, y1, w, s, c, 1.0);
  fm_frame_rect(p, x0 - s + 1, y0 - s + 1, s, h, c, 1.0);
  fm_frame_rect(p, x1, y0 - s + 1, s, h, c, 1.0);
}

/* Ticks and labels of a vertical axis (the y axis, left of x, or the colour bar's, right). */
static void vertical_ticks(fm_frame *p, const fm_axis *a, int x, int right_side) {
  int s = p->s, tick = TICK * s;
  for (int i = 0; i < a->n_minor; i++) {
    int r = (int)floor(along(a, a->minor[i], p->bottom, p->top));
    fm_frame_rect(p, right_side ? x : x - tick / 2, r - (s - 1) / 2, tick / 2, s, INK, 1.0);
  }
  for (int i = 0; i < a->n; i++) {
    int r = (int)floor(along(a, a->tick[i], p->bottom, p->top));
    double w = fm_frame_text_width(p, a->label[i], FONT * s);
    fm_frame_rect(p, right_side ? x : x - tick, r - (s - 1) / 2, tick, s, INK, 1.0);
    double tx = right_side ? x + tick + TICK_GAP * s : x - tick - TICK_GAP * s - w;
    fm_frame_text(p, tx, r + 0.5 + 0.5 * CAP_H * s, a->label[i], FONT * s, INK, 0);
  }
}

/* Centred over the frame, but not left of the margin. */
static double centred(const fm_frame *p, double w) {
  return fmax(PAD * p->s, 0.5 * (p->left + p->right + 1 - w));
}

/* The frame (s pixels thick, growing outwards), ticks, tick labels, title, axis labels. */
void fm_frame_axes(fm_frame *p) {
  const fm_plot_opts *o = p->o;
  int s = p->s, tick = TICK * s;
  outline(p, p->left, p->top, p->right, p->bottom, INK);
  double label_top = p->bottom + s + tick + TICK_GAP * s;
  for (int i = 0; i < p->x.n; i++) {
    int c = (int)floor(along(&p->x, p->x.tick[i], p->left, p->right));
    fm_frame_rect(p, c - (s - 1) / 2, p->bottom + s, s, tick, INK, 1.0);
    double w = fm_frame_text_width(p, p->x.label[i], FONT * s);
    fm_frame_text(p, c + 0.5 - 0.5 * w, label_top + CAP_H * s, p->x.label[i], FONT * s, INK,
                  0);
  }
  vertical_ticks(p, &p->y, p->left - s + 1, 0);
  double title_h = o->title ? (1.17 * TITLE_FONT + TITLE_GAP / 2) * s : 0;
  if (o->title)
    fm_frame_text(p, centred(p, fm_frame_text_width(p, o->title, TITLE_FONT * s)),
         PAD * s + 0.93 * TITLE_FONT * s, o->title, TITLE_FONT * s, INK, 0);
  if (p->note)
    fm_frame_text(p, centred(p, fm_frame_text_width(p, p->note, FONT * s)),
                  PAD * s + title_h + ASCENT * s, p->note, FONT * s, NOTE, 0);
  if (o->xlabel)
    fm_frame_text(p, centred(p, fm_frame_text_width(p, o->xlabel, FONT * s)),
         label_top + (LINE_H + LABEL_GAP) * s + ASCENT * s - (LINE_H - CAP_H) * s, o->xlabel,
         FONT * s, INK, 0);
  if (o->ylabel) {
    /* Beside the tick labels, wherever the frame is (a heat map's may be narrowed). */
    double x = p->left - s + 1 - tick - (TICK_GAP + LABEL_GAP + LINE_H - 0.93 * FONT) * s -
               p->y.label_w;
    double w = fm_frame_text_width(p, o->ylabel, FONT * s);
    fm_frame_text(p, x, 0.5 * (p->top + p->bottom + 1 + w), o->ylabel, FONT * s, INK, 1);
  }
}

/* The colour bar: the colour map from cb.lo (bottom) to cb.hi (top) beside the frame. */
void fm_frame_bar(fm_frame *p) {
  int s = p->s, x0 = p->right + BAR_GAP * s, bw = BAR_W * s;
  cairo_pattern_t *ramp = cairo_pattern_create_linear(0, p->bottom + 0.5, 0, p->top + 0.5);
  for (int k = 0; k <= 9; k++) { /* viridis is linear between these */
    fm_color c = fm_colormap_viridis(k / 9.0);
    cairo_pattern_add_color_stop_rgb(ramp, k / 9.0, (c >> 16) / 255.0, (c >> 8 & 255) / 255.0,
                                     (c & 255) / 255.0);
  }
  cairo_set_source(p->cr, ramp);
  cairo_rectangle(p->cr, x0, p->top, bw, p->bottom - p->top + 1);
  cairo_fill(p->cr);
  cairo_pattern_destroy(ramp);
  outline(p, x0 - 1, p->top, x0 + bw, p->bottom, INK);
  vertical_ticks(p, &p->cb, x0 + bw + s, 1);
  if (p->bar_label) {
    double w = fm_frame_text_width(p, p->bar_label, FONT * s);
    double x = x0 + bw + s + (TICK + TICK_GAP + LABEL_GAP + 0.93 * FONT) * s + p->cb.label_w;
    fm_frame_text(p, x, 0.5 * (p->top + p->bottom + 1 + w), p->bar_label, FONT * s, INK, 1);
  }
}

/* Pixels of the figure so far in the box that are neither background nor grid. */
static long ink(fm_frame *p, cairo_surface_t *img, int x0, int y0, int w, int h) {
  const uint8_t *data = cairo_image_surface_get_data(img);
  int stride = cairo_image_surface_get_stride(img), W = p->fig->width, H = p->fig->height;
  long n = 0;
  for (int y = y0 > 0 ? y0 : 0; y < y0 + h && y < H; y++)
    for (int x = x0 > 0 ? x0 : 0; x < x0 + w && x < W; x++) {
      uint32_t v = ((const uint32_t *)(data + (size_t)y * stride))[x] & 0xFFFFFFu;
      n += v != BACKGROUND && v != GRID;
    }
  return n;
}

void fm_frame_legend(fm_frame *p, const fm_legend_item *items, int n) {
  fm_legend where = p->o->legend;
  if (where == FM_LEGEND_NONE || n <= 0) return;
  int s = p->s, in = 5 * s, row = (int)(1.4 * FONT * s), sw = 14 * s, m = 6 * s;
  double tw = 0;
  for (int i = 0; i < n; i++) tw = fmax(tw, fm_frame_text_width(p, items[i].label, FONT * s));
  int w = (int)ceil(2 * in + sw + 5 * s + tw), h = (int)ceil(2 * in + (n - 1) * row + LINE_H * s);
  /* Corners in the order top right, top left, bottom right, bottom left. */
  int xs[4] = {p->right - m - w, p->left + m, p->right - m - w, p->left + m};
  int ys[4] = {p->top + m, p->top + m, p->bottom - m - h, p->bottom - m - h};
  int pick = where == FM_LEGEND_TOP_LEFT       ? 1
             : where == FM_LEGEND_BOTTOM_RIGHT ? 2
             : where == FM_LEGEND_BOTTOM_LEFT  ? 3
                                               : 0;
  if (where == FM_LEGEND_AUTO) { /* the corner that hides the least of what is drawn */
    cairo_surface_t *img = fm_figure_raster(p->fig);
    long best = -1;
    for (int c = 0; img && c < 4; c++) {
      long k = ink(p, img, xs[c], ys[c], w, h);
      if (best < 0 || k < best) best = k, pick = c;
    }
    cairo_surface_destroy(img);
  }
  int x = xs[pick], y = ys[pick];
  fm_frame_rect(p, x, y, w, h, BACKGROUND, 0.85);
  outline(p, x + s - 1, y + s - 1, x + w - s, y + h - s, LEGEND_EDGE);
  for (int i = 0; i < n; i++) {
    double base = y + in + i * row + ASCENT * s, cy = base - 0.5 * CAP_H * s;
    double seg[4] = {x + in, cy, x + in + sw, cy};
    if (items[i].line) fm_frame_polyline(p, seg, 2, 2 * s, items[i].c, 1.0);
    else fm_frame_disk(p, x + in + 0.5 * sw, cy, 3 * s, items[i].c, 1.0);
    fm_frame_text(p, x + in + sw + 5 * s, base, items[i].label, FONT * s, INK, 0);
  }
}

void fm_frame_info(const fm_frame *p, fm_plot_info *info, long skipped) {
  if (!info) return;
  info->left = p->left, info->top = p->top, info->right = p->right, info->bottom = p->bottom;
  info->xmin = p->x.lo, info->xmax = p->x.hi, info->ymin = p->y.lo, info->ymax = p->y.hi;
  info->log_y = p->y.log;
  info->equal_scale = fabs((p->x.hi - p->x.lo) / (p->right - p->left) -
                           (p->y.hi - p->y.lo) / (p->bottom - p->top)) <=
                      1e-9 * fabs((p->x.hi - p->x.lo) / (p->right - p->left));
  info->skipped = skipped;
}

void fm_plot_to_pixel(const fm_plot_info *info, double x, double y, double *px, double *py) {
  if (info->log_y) y = log10(y);
  *px = info->left + 0.5 + (x - info->xmin) / (info->xmax - info->xmin) * (info->right - info->left);
  *py = info->bottom + 0.5 - (y - info->ymin) / (info->ymax - info->ymin) * (info->bottom - info->top);
}

static const fm_plot_opts default_opts;

fm_status fm_frame_begin(fm_frame *p, const char *what, const fm_plot_opts *opts, fm_figure *out) {
  memset(p, 0, sizeof *p);
  p->fig = out;
  const fm_plot_opts *o = p->o = opts ? opts : &default_opts;
  int W = o->width ? o->width : 640, H = o->height ? o->height : 480;
  if (W < 160 || H < 160 || W > 8192 || H > 8192)
    return fm_fail(FM_ERR_INVALID, "%s: %d x %d pixels; width and height must be from 160 to "
                   "8192 (0 for 640 x 480)", what, o->width, o->height);
  if (o->xmin != o->xmax && !(isfinite(o->xmin) && isfinite(o->xmax) && o->xmin < o->xmax))
    return fm_fail(FM_ERR_INVALID, "%s: x limits [%g, %g]: xmin must be below xmax and both "
                   "finite (equal for limits from the data)", what, o->xmin, o->xmax);
  if (o->ymin != o->ymax && !(isfinite(o->ymin) && isfinite(o->ymax) && o->ymin < o->ymax))
    return fm_fail(FM_ERR_INVALID, "%s: y limits [%g, %g]: ymin must be below ymax and both "
                   "finite (equal for limits from the data)", what, o->ymin, o->ymax);
  if (o->log_y && o->ymin != o->ymax && !(o->ymin > 0))
    return fm_fail(FM_ERR_INVALID, "%s: a log y axis from ymin = %g; ymin must be positive", what,
                   o->ymin);
  fm_status st = fm_figure_start(out, W, H, &p->cr);
  if (st != FM_OK) return fm_fail_context(st, "%s: ", what);
  p->s = W / 640 < H / 480 ? W / 640 : H / 480;
  if (p->s < 1) p->s = 1;
  fm_frame_rect(p, 0, 0, W, H, BACKGROUND, 1.0);
  return FM_OK;
}

fm_status fm_frame_end(fm_frame *p, fm_status st) {
  if (p->cr) {
    cairo_status_t drawn = cairo_status(p->cr);
    cairo_destroy(p->cr);
    p->cr = NULL;
    if (st == FM_OK && drawn != CAIRO_STATUS_SUCCESS)
      st = fm_fail(FM_ERR_NOMEM, "plot: cairo could not draw it: %s",
                   cairo_status_to_string(drawn));
  }
  if (st != FM_OK) fm_figure_free(p->fig);
  return st;
}

fm_range fm_range_empty(void) {
  fm_range r = {INFINITY, -INFINITY};
  return r;
}

void fm_range_add(fm_range *r, double v) {
  if (v < r->lo) r->lo = v;
  if (v > r->hi) r->hi = v;
}

/* The given limits, or the data's range with a 5% margin on each side. */
void fm_range_limits(double given_lo, double given_hi, fm_range r, double *lo, double *hi) {
  if (given_lo != given_hi) {
    *lo = given_lo, *hi = given_hi;
    return;
  }
  double span = r.hi - r.lo, margin = span > 0 ? 0.05 * span : r.lo != 0 ? 0.1 * fabs(r.lo) : 1;
  *lo = r.lo - margin, *hi = r.hi + margin;
}

fm_fit fm_frame_fit(fm_frame *p, double xlo, double xhi, double ylo, double yhi, fm_fit equal) {
  const fm_plot_opts *o = p->o;
  if (o->aspect == FM_ASPECT_EQUAL) return equal;
  if (o->aspect == FM_ASPECT_FREE) return FM_FIT_FREE;
  if (equal == FM_FIT_EXPAND && (o->xmin != o->xmax || o->ymin != o->ymax)) return FM_FIT_FREE;
  double wide = fmax(xhi - xlo, yhi - ylo), narrow = fmin(xhi - xlo, yhi - ylo);
  if (narrow > 0 && wide <= FM_COMMENSURABLE * narrow) return equal;
  p->note = "x and y are drawn to different scales";
  return FM_FIT_FREE;
}

/* Columns cx, cy of dim-dimensional points (cx == cy: 0 and 1); set >= 0 names a set. */
fm_status fm_frame_check_columns(const char *what, int set, int dim, int *cx, int *cy) {
  if (*cx == *cy) *cx = 0, *cy = 1;
  if (*cx < 0 || *cy < 0 || *cx >= dim || *cy >= dim) {
    char which[32] = "";
    if (set >= 0) snprintf(which, sizeof which, " set %d:", set);
    return fm_fail(FM_ERR_INVALID, "%s:%s columns %d and %d of %d-dimensional points; each must "
                   "be from 0 to %d", what, which, *cx, *cy, dim, dim - 1);
  }
  return FM_OK;
}

/* Dots fade as they crowd: 0.8 at 1000, 0.36 at 5000. */
double fm_frame_crowd_alpha(long n) {
  double a = 0.8 * sqrt(1000.0 / (double)n);
  return a < 0.15 ? 0.15 : a > 0.9 ? 0.9 : a;
}
