/* The frame every plot draws in: nice ticks and their labels, the layout of the frame,
 * title and axis labels, the axes, the legend and the colour bar, and the mapping from data
 * to pixels. */
#include "plot_frame.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

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

fm_box fm_frame_box(const fm_frame *p) {
  fm_box b = {p->left, p->top, p->right + 1, p->bottom + 1};
  return b;
}

static void axis_ticks(fm_axis *a, int length, int spacing, int s) {
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
    int w = fm_text_width(a->label[i], s);
    if (w > a->label_w) a->label_w = w;
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
  return (BAR_GAP + BAR_W + TICK + TICK_GAP) * s + p->cb.label_w +
         (p->bar_label ? (LABEL_GAP + LINE_H) * s : 0);
}

/* Places the frame and ticks: margins for the title, the tick labels and the axis labels,
 * recomputed until the labels of the final ticks fit them. */
void fm_frame_layout(fm_frame *p, double xlo, double xhi, double ylo, double yhi, fm_fit f) {
  const fm_plot_opts *o = p->o;
  int s = p->s, W = p->img->width, H = p->img->height;
  int top = PAD * s + (o->title ? (2 * FM_FONT_ASCENT + TITLE_GAP) * s : 0) +
            (p->note ? (LINE_H + TITLE_GAP / 2) * s : 0);
  int bottom = H - 1 - (PAD + TICK + TICK_GAP + FM_FONT_ASCENT) * s -
               (o->xlabel ? (LABEL_GAP + LINE_H) * s : 0);
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
    axis_ticks(&p->x, R - L, 64 * s, s);
    axis_ticks(&p->y, B - T, 36 * s, s);
    if (p->bar) axis_ticks(&p->cb, B - T, 36 * s, s);
    int lm2 = (PAD + TICK + TICK_GAP) * s + p->y.label_w + (o->ylabel ? (LINE_H + LABEL_GAP) * s : 0);
    int over = 0; /* how far the last x label reaches right of the frame */
    if (p->x.n > 0) {
      int c = (int)floor(along(&p->x, p->x.tick[p->x.n - 1], L, R));
      over = c + fm_text_width(p->x.label[p->x.n - 1], s) / 2 + 1 - R;
    }
    if (p->bar) over -= (BAR_GAP - 2) * s; /* the gap before the colour bar takes some */
    int rm2 = PAD * s + (p->bar ? bar_room(p) : 0) + (over > 0 ? over : 0);
    if (f == FM_FIT_SHRINK) rm2 = rm2 > rm ? rm2 : rm; /* the centred frame may move; never back */
    if (lm2 == lm && rm2 == rm) break;
    lm = lm2, rm = rm2;
  }
}

void fm_frame_grid(fm_frame *p) {
  fm_box all = fm_image_box(p->img);
  int s = p->s;
  for (int i = 0; i < p->x.n; i++) {
    int c = (int)floor(along(&p->x, p->x.tick[i], p->left, p->right));
    fm_image_rect_in(p->img, all, c - (s - 1) / 2, p->top, s, p->bottom - p->top + 1, GRID, 1.0);
  }
  for (int i = 0; i < p->y.n; i++) {
    int r = (int)floor(along(&p->y, p->y.tick[i], p->bottom, p->top));
    fm_image_rect_in(p->img, all, p->left, r - (s - 1) / 2, p->right - p->left + 1, s, GRID, 1.0);
  }
}

/* Labels of a vertical axis (the y axis, left of x, or the colour bar's, right of x). */
static void vertical_ticks(fm_frame *p, const fm_axis *a, int x, int right_side) {
  fm_box all = fm_image_box(p->img);
  int s = p->s, tick = TICK * s;
  for (int i = 0; i < a->n_minor; i++) {
    int r = (int)floor(along(a, a->minor[i], p->bottom, p->top));
    fm_image_rect_in(p->img, all, right_side ? x : x - tick / 2, r - (s - 1) / 2, tick / 2, s, INK, 1.0);
  }
  for (int i = 0; i < a->n; i++) {
    int r = (int)floor(along(a, a->tick[i], p->bottom, p->top));
    int w = fm_text_width(a->label[i], s);
    fm_image_rect_in(p->img, all, right_side ? x : x - tick, r - (s - 1) / 2, tick, s, INK, 1.0);
    int tx = right_side ? x + tick + TICK_GAP * s : x - tick - TICK_GAP * s - w;
    fm_image_text_in(p->img, all, tx, r - (FM_FONT_ASCENT * s - s) / 2, a->label[i], s, INK, 0);
  }
}

/* The frame (s pixels thick, growing outwards), ticks, tick labels, title, axis labels. */
void fm_frame_axes(fm_frame *p) {
  fm_image *img = p->img;
  fm_box all = fm_image_box(img);
  const fm_plot_opts *o = p->o;
  int s = p->s, tick = TICK * s, w;
  int fw = p->right - p->left + 2 * s - 1, fh = p->bottom - p->top + 2 * s - 1;
  fm_image_rect_in(img, all, p->left - s + 1, p->top - s + 1, fw, s, INK, 1.0);
  fm_image_rect_in(img, all, p->left - s + 1, p->bottom, fw, s, INK, 1.0);
  fm_image_rect_in(img, all, p->left - s + 1, p->top - s + 1, s, fh, INK, 1.0);
  fm_image_rect_in(img, all, p->right, p->top - s + 1, s, fh, INK, 1.0);
  int label_top = p->bottom + s + tick + TICK_GAP * s;
  for (int i = 0; i < p->x.n; i++) {
    int c = (int)floor(along(&p->x, p->x.tick[i], p->left, p->right));
    fm_image_rect_in(img, all, c - (s - 1) / 2, p->bottom + s, s, tick, INK, 1.0);
    w = fm_text_width(p->x.label[i], s);
    fm_image_text_in(img, all, c + s / 2 - w / 2, label_top, p->x.label[i], s, INK, 0);
  }
  vertical_ticks(p, &p->y, p->left - s + 1, 0);
  if (o->title) {
    w = fm_text_width(o->title, 2 * s);
    int x = (p->left + p->right + 1 - w) / 2;
    fm_image_text_in(img, all, x > PAD * s ? x : PAD * s, PAD * s, o->title, 2 * s, INK, 0);
  }
  if (p->note) {
    w = fm_text_width(p->note, s);
    int x = (p->left + p->right + 1 - w) / 2;
    int y = PAD * s + (o->title ? (2 * FM_FONT_ASCENT + TITLE_GAP / 2) * s : 0);
    fm_image_text_in(img, all, x > PAD * s ? x : PAD * s, y, p->note, s, NOTE, 0);
  }
  if (o->xlabel) {
    w = fm_text_width(o->xlabel, s);
    fm_image_text_in(img, all, (p->left + p->right + 1 - w) / 2,
              label_top + (FM_FONT_ASCENT + LABEL_GAP) * s, o->xlabel, s, INK, 0);
  }
  if (o->ylabel) {
    w = fm_text_width(o->ylabel, s);
    /* Beside the tick labels, wherever the frame is (a heat map's may be narrowed). */
    int x = p->left - s + 1 - tick - (TICK_GAP + LABEL_GAP + LINE_H) * s - p->y.label_w;
    fm_image_text_in(img, all, x, (p->top + p->bottom + 1 - w) / 2, o->ylabel, s, INK, 1);
  }
}

/* The colour bar: the colour map from cb.lo (bottom) to cb.hi (top) beside the frame. */
void fm_frame_bar(fm_frame *p) {
  fm_box all = fm_image_box(p->img);
  int s = p->s, x0 = p->right + BAR_GAP * s, bw = BAR_W * s;
  for (int r = p->top; r <= p->bottom; r++) {
    double t = (double)(p->bottom - r) / (p->bottom - p->top);
    fm_image_rect_in(p->img, all, x0, r, bw, 1, fm_colormap_viridis(t), 1.0);
  }
  int fh = p->bottom - p->top + 2 * s - 1;
  fm_image_rect_in(p->img, all, x0 - s, p->top - s + 1, bw + 2 * s, s, INK, 1.0);
  fm_image_rect_in(p->img, all, x0 - s, p->bottom, bw + 2 * s, s, INK, 1.0);
  fm_image_rect_in(p->img, all, x0 - s, p->top - s + 1, s, fh, INK, 1.0);
  fm_image_rect_in(p->img, all, x0 + bw, p->top - s + 1, s, fh, INK, 1.0);
  vertical_ticks(p, &p->cb, x0 + bw + s, 1);
  if (p->bar_label) {
    int w = fm_text_width(p->bar_label, s);
    int x = x0 + bw + s + (TICK + TICK_GAP) * s + p->cb.label_w + LABEL_GAP * s;
    fm_image_text_in(p->img, all, x, (p->top + p->bottom + 1 - w) / 2, p->bar_label, s, INK, 1);
  }
}


void fm_frame_legend(fm_frame *p, const fm_legend_item *items, int n) {
  fm_legend where = p->o->legend;
  if (where == FM_LEGEND_NONE || n <= 0) return;
  fm_image *img = p->img;
  int s = p->s, in = 5 * s, row = 11 * s, sw = 14 * s, tw = 0, m = 6 * s;
  for (int i = 0; i < n; i++) {
    int w = fm_text_width(items[i].label, s);
    if (w > tw) tw = w;
  }
  int w = 2 * in + sw + 5 * s + tw, h = 2 * in + (n - 1) * row + 8 * s;
  /* Corners in the order top right, top left, bottom right, bottom left. */
  int xs[4] = {p->right - m - w, p->left + m, p->right - m - w, p->left + m};
  int ys[4] = {p->top + m, p->top + m, p->bottom - m - h, p->bottom - m - h};
  int pick = where == FM_LEGEND_TOP_LEFT       ? 1
             : where == FM_LEGEND_BOTTOM_RIGHT ? 2
             : where == FM_LEGEND_BOTTOM_LEFT  ? 3
                                               : 0;
  if (where == FM_LEGEND_AUTO) {
    long best = -1;
    for (int c = 0; c < 4; c++) {
      long ink = 0;
      for (int y = ys[c] > 0 ? ys[c] : 0; y < ys[c] + h && y < img->height; y++)
        for (int x = xs[c] > 0 ? xs[c] : 0; x < xs[c] + w && x < img->width; x++) {
          const uint8_t *q = img->rgb + ((size_t)y * (size_t)img->width + (size_t)x) * 3;
          fm_color v = (fm_color)q[0] << 16 | (fm_color)q[1] << 8 | q[2];
          ink += v != BACKGROUND && v != GRID;
        }
      if (best < 0 || ink < best) best = ink, pick = c;
    }
  }
  int x = xs[pick], y = ys[pick];
  fm_box all = fm_image_box(img);
  fm_image_rect_in(img, all, x, y, w, h, BACKGROUND, 0.85);
  fm_image_rect_in(img, all, x, y, w, s, LEGEND_EDGE, 1.0);
  fm_image_rect_in(img, all, x, y + h - s, w, s, LEGEND_EDGE, 1.0);
  fm_image_rect_in(img, all, x, y, s, h, LEGEND_EDGE, 1.0);
  fm_image_rect_in(img, all, x + w - s, y, s, h, LEGEND_EDGE, 1.0);
  for (int i = 0; i < n; i++) {
    int ty = y + in + i * row;
    double cy = ty + 0.5 * FM_FONT_ASCENT * s;
    if (items[i].line) fm_image_line_in(img, all, x + in, cy, x + in + sw, cy, 2 * s, items[i].c, 1.0);
    else fm_image_disk_in(img, all, x + in + 0.5 * sw, cy, 3 * s, items[i].c, 1.0);
    fm_image_text_in(img, all, x + in + sw + 5 * s, ty, items[i].label, s, INK, 0);
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

/* Checks the options and makes the image. */
fm_status fm_frame_begin(fm_frame *p, const char *what, const fm_plot_opts *opts, fm_image *out) {
  memset(p, 0, sizeof *p);
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
  fm_status st = fm_image_create(W, H, BACKGROUND, out);
  if (st != FM_OK) return fm_fail_context(st, "%s: ", what);
  p->img = out;
  p->s = W / 640 < H / 480 ? W / 640 : H / 480;
  if (p->s < 1) p->s = 1;
  return FM_OK;
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
