/* Plots drawn into an RGB image and written as PNG: drawing (anti-aliased lines and disks,
 * blended once per pixel along a polyline), a bitmap font, nice ticks, and the plots a
 * flow-matching run wants: samples over data, a density, trajectories, the loss curve. */
#include "fmcl/plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "internal.h"
#include "png.h"

#define BACKGROUND 0xFFFFFFu
#define INK 0x222222u     /* frame, ticks and text */
#define GRID 0xEBEBEBu    /* lines at the ticks, behind the data */
#define MISSING 0xBFBFBFu /* heat map cells with no finite value near */
#define PATH 0x6BAED6u    /* trajectory lines */
#define LEGEND_EDGE 0xBBBBBBu

enum { MAX_SIDE = 16384, MAX_TICKS = 16, MAX_MINOR = 64 };

static const fm_color palette[6] = {FM_COLOR_GREY,  FM_COLOR_BLUE, FM_COLOR_ORANGE,
                                    FM_COLOR_GREEN, FM_COLOR_RED,  FM_COLOR_PURPLE};

/* ---- Images ---- */

fm_status fm_image_create(int width, int height, fm_color background, fm_image *out) {
  memset(out, 0, sizeof *out);
  if (width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE)
    return fm_fail(FM_ERR_INVALID, "image: %d x %d pixels; each side must be from 1 to %d",
                   width, height, MAX_SIDE);
  out->rgb = malloc((size_t)width * (size_t)height * 3);
  if (!out->rgb)
    return fm_fail(FM_ERR_NOMEM, "image: out of host memory for %d x %d pixels", width, height);
  out->width = width;
  out->height = height;
  fm_image_fill(out, background);
  return FM_OK;
}

void fm_image_free(fm_image *img) {
  if (!img) return;
  free(img->rgb);
  memset(img, 0, sizeof *img);
}

fm_status fm_image_write_png(const fm_image *img, const char *path) {
  if (!img || !img->rgb || img->width < 1 || img->height < 1)
    return fm_fail(FM_ERR_INVALID, "%s: no image to write (create it with fm_image_create)", path);
  uint8_t *png = NULL;
  size_t size = 0;
  fm_status st = fm_png_encode(img->rgb, img->width, img->height, &png, &size);
  if (st != FM_OK) return fm_fail_context(st, "%s: ", path);
  fm_file file;
  st = fm_file_begin(&file, path, "wb");
  if (st == FM_OK) {
    if (fwrite(png, 1, size, file.f) != size) {
      fm_file_abort(&file);
      st = fm_fail(FM_ERR_IO, "%s: write failed (is the disk full?); no file was left", path);
    } else {
      st = fm_file_commit(&file);
    }
  }
  free(png);
  return st;
}

/* Pixels [x0, x1) x [y0, y1). */
typedef struct box {
  int x0, y0, x1, y1;
} box;

static box whole(const fm_image *img) {
  box b = {0, 0, img->width, img->height};
  return b;
}

/* v as an int in [lo, hi], whatever its size (a point far off the plot, an infinity). */
static int clampi(double v, int lo, int hi) {
  if (!(v >= lo)) return lo;
  if (v > hi) return hi;
  return (int)v;
}

static void put(fm_image *img, int x, int y, fm_color c, double alpha) {
  uint8_t *p = img->rgb + ((size_t)y * (size_t)img->width + (size_t)x) * 3;
  int rgb[3] = {(int)(c >> 16 & 255), (int)(c >> 8 & 255), (int)(c & 255)};
  if (alpha >= 1.0) {
    for (int k = 0; k < 3; k++) p[k] = (uint8_t)rgb[k];
  } else if (alpha > 0.0) {
    for (int k = 0; k < 3; k++) p[k] = (uint8_t)(p[k] + (rgb[k] - p[k]) * alpha + 0.5);
  }
}

static void rect(fm_image *img, box clip, int x, int y, int w, int h, fm_color c, double alpha) {
  int x0 = x > clip.x0 ? x : clip.x0, y0 = y > clip.y0 ? y : clip.y0;
  int x1 = x + w < clip.x1 ? x + w : clip.x1, y1 = y + h < clip.y1 ? y + h : clip.y1;
  for (int j = y0; j < y1; j++)
    for (int i = x0; i < x1; i++) put(img, i, j, c, alpha);
}

void fm_image_fill(fm_image *img, fm_color c) {
  rect(img, whole(img), 0, 0, img->width, img->height, c, 1.0);
}

void fm_image_blend(fm_image *img, int x, int y, fm_color c, float alpha) {
  if (x >= 0 && y >= 0 && x < img->width && y < img->height) put(img, x, y, c, alpha);
}

void fm_image_rect(fm_image *img, int x, int y, int w, int h, fm_color c, float alpha) {
  rect(img, whole(img), x, y, w, h, c, alpha);
}

/* Where anti-aliased shapes put their coverage: blended straight into the image, or kept
 * (the largest per pixel) in a mask over the box clip, to be blended once. */
typedef struct sink {
  fm_image *img;
  box clip;
  fm_color c;
  double alpha;
  uint8_t *mask; /* (clip height, clip width) or NULL */
} sink;

static void cover(sink *s, int x, int y, double cov) {
  if (cov <= 0 || x < s->clip.x0 || y < s->clip.y0 || x >= s->clip.x1 || y >= s->clip.y1) return;
  if (cov > 1) cov = 1;
  if (!s->mask) {
    put(s->img, x, y, s->c, s->alpha * cov);
    return;
  }
  size_t w = (size_t)(s->clip.x1 - s->clip.x0);
  uint8_t *m = &s->mask[(size_t)(y - s->clip.y0) * w + (size_t)(x - s->clip.x0)];
  uint8_t v = (uint8_t)(cov * 255 + 0.5);
  if (v > *m) *m = v;
}

static double segment_distance(double px, double py, double x0, double y0, double x1, double y1) {
  double dx = x1 - x0, dy = y1 - y0, l2 = dx * dx + dy * dy, t = 0;
  if (l2 > 0) {
    t = ((px - x0) * dx + (py - y0) * dy) / l2;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
  }
  return hypot(px - (x0 + t * dx), py - (y0 + t * dy));
}

/* Coverage of a segment of the given width: full within width / 2 of it, fading over one
 * pixel. Walks the long axis and, per step, the few pixels across the line. */
static void segment(sink *s, double x0, double y0, double x1, double y1, double width) {
  if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1)) return;
  double reach = 0.5 * (width > 1 ? width : 1) + 0.5, gain = width < 1 ? width : 1;
  int steep = fabs(y1 - y0) > fabs(x1 - x0);
  double a0 = steep ? y0 : x0, a1 = steep ? y1 : x1, b0 = steep ? x0 : y0, b1 = steep ? x1 : y1;
  double da = a1 - a0, db = b1 - b0, slope = da != 0 ? db / da : 0;
  double across = reach * sqrt(1 + slope * slope) + 1;
  int alo = steep ? s->clip.y0 : s->clip.x0, ahi = (steep ? s->clip.y1 : s->clip.x1) - 1;
  int blo = steep ? s->clip.x0 : s->clip.y0, bhi = (steep ? s->clip.x1 : s->clip.y1) - 1;
  int i0 = clampi(floor(fmin(a0, a1) - reach), alo, ahi + 1);
  int i1 = clampi(floor(fmax(a0, a1) + reach), alo - 1, ahi);
  for (int i = i0; i <= i1; i++) {
    double c = i + 0.5, t = da != 0 ? (c - a0) / da : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double b = b0 + t * db;
    int j0 = clampi(floor(b - across), blo, bhi + 1), j1 = clampi(floor(b + across), blo - 1, bhi);
    for (int j = j0; j <= j1; j++) {
      double px = steep ? j + 0.5 : c, py = steep ? c : j + 0.5;
      double cov = reach - segment_distance(px, py, x0, y0, x1, y1);
      if (cov > 0) cover(s, steep ? j : i, steep ? i : j, cov * gain);
    }
  }
}

static void disk(sink *s, double cx, double cy, double r) {
  if (!isfinite(cx) || !isfinite(cy) || !(r > 0)) return;
  double reach = (r > 0.5 ? r : 0.5) + 0.5, gain = r < 0.5 ? 4 * r * r : 1;
  int x0 = clampi(floor(cx - reach), s->clip.x0, s->clip.x1);
  int x1 = clampi(floor(cx + reach), s->clip.x0 - 1, s->clip.x1 - 1);
  int y0 = clampi(floor(cy - reach), s->clip.y0, s->clip.y1);
  int y1 = clampi(floor(cy + reach), s->clip.y0 - 1, s->clip.y1 - 1);
  for (int y = y0; y <= y1; y++)
    for (int x = x0; x <= x1; x++) {
      double cov = reach - hypot(x + 0.5 - cx, y + 0.5 - cy);
      if (cov > 0) cover(s, x, y, cov * gain);
    }
}

void fm_image_line(fm_image *img, double x0, double y0, double x1, double y1, double width,
                   fm_color c, float alpha) {
  sink s = {img, whole(img), c, alpha, NULL};
  segment(&s, x0, y0, x1, y1, width);
}

void fm_image_disk(fm_image *img, double cx, double cy, double radius, fm_color c, float alpha) {
  sink s = {img, whole(img), c, alpha, NULL};
  disk(&s, cx, cy, radius);
}

/* Segments through the finite points of xy (n, 2) in a mask over their bounding box (within
 * clip), blended once, so joints and overlaps do not darken a translucent line. */
static fm_status polyline(fm_image *img, box clip, const double *xy, int n, double width,
                          fm_color c, double alpha) {
  double reach = 0.5 * (width > 1 ? width : 1) + 1;
  double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
  for (int i = 0; i < 2 * n; i++)
    if (isfinite(xy[i])) lo[i % 2] = fmin(lo[i % 2], xy[i]), hi[i % 2] = fmax(hi[i % 2], xy[i]);
  if (!(lo[0] <= hi[0]) || !(lo[1] <= hi[1])) return FM_OK;
  box b = {clampi(floor(lo[0] - reach), clip.x0, clip.x1),
           clampi(floor(lo[1] - reach), clip.y0, clip.y1),
           clampi(floor(hi[0] + reach) + 1, clip.x0, clip.x1),
           clampi(floor(hi[1] + reach) + 1, clip.y0, clip.y1)};
  if (b.x1 <= b.x0 || b.y1 <= b.y0) return FM_OK;
  size_t w = (size_t)(b.x1 - b.x0), h = (size_t)(b.y1 - b.y0);
  sink s = {img, b, c, alpha, calloc(w * h, 1)};
  if (!s.mask)
    return fm_fail(FM_ERR_NOMEM, "plot: out of host memory for a %zu x %zu line mask", w, h);
  if (n == 1) disk(&s, xy[0], xy[1], 0.5 * width);
  for (int i = 0; i + 1 < n; i++)
    segment(&s, xy[2 * i], xy[2 * i + 1], xy[2 * i + 2], xy[2 * i + 3], width);
  for (size_t j = 0; j < h; j++)
    for (size_t i = 0; i < w; i++)
      if (s.mask[j * w + i])
        put(img, b.x0 + (int)i, b.y0 + (int)j, c, alpha * s.mask[j * w + i] / 255.0);
  free(s.mask);
  return FM_OK;
}

fm_status fm_image_polyline(fm_image *img, const double *xy, int n, double width, fm_color c,
                            float alpha) {
  if (n <= 0) return fm_fail(FM_ERR_INVALID, "polyline: n must be positive, got %d", n);
  return polyline(img, whole(img), xy, n, width, c, alpha);
}

/* ---- Font ---- */

/* Glyphs 5 pixels wide at most, 9 rows: 0-6 above the baseline, 7-8 for descenders; bit 4
 * of a row is its leftmost pixel. Letters are as wide as they need (i, l, r are narrow),
 * digits all 5 so that numbers line up. */
typedef struct glyph {
  uint8_t width;
  uint8_t rows[9];
} glyph;

static const glyph font[95] = {
    {3, {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}}, /*   */
    {1, {0x10, 0x10, 0x10, 0x10, 0x10, 0x00, 0x10, 0x00, 0x00}}, /* ! */
    {3, {0x14, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}}, /* " */
    {5, {0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A, 0x00, 0x00}}, /* # */
    {5, {0x04, 0x0F, 0x14, 0x0E, 0x05, 0x1E, 0x04, 0x00, 0x00}}, /* $ */
    {5, {0x19, 0x1A, 0x02, 0x04, 0x08, 0x0B, 0x13, 0x00, 0x00}}, /* % */
    {5, {0x0C, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0D, 0x00, 0x00}}, /* & */
    {1, {0x10, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}}, /* ' */
    {3, {0x04, 0x08, 0x10, 0x10, 0x10, 0x08, 0x04, 0x00, 0x00}}, /* ( */
    {3, {0x10, 0x08, 0x04, 0x04, 0x04, 0x08, 0x10, 0x00, 0x00}}, /* ) */
    {5, {0x00, 0x04, 0x15, 0x0E, 0x15, 0x04, 0x00, 0x00, 0x00}}, /* * */
    {5, {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00, 0x00, 0x00}}, /* + */
    {2, {0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0x08, 0x10, 0x00}}, /* , */
    {4, {0x00, 0x00, 0x00, 0x1E, 0x00, 0x00, 0x00, 0x00, 0x00}}, /* - */
    {2, {0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0x18, 0x00, 0x00}}, /* . */
    {5, {0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10, 0x00, 0x00}}, /* / */
    {5, {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E, 0x00, 0x00}}, /* 0 */
    {5, {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E, 0x00, 0x00}}, /* 1 */
    {5, {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F, 0x00, 0x00}}, /* 2 */
    {5, {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E, 0x00, 0x00}}, /* 3 */
    {5, {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02, 0x00, 0x00}}, /* 4 */
    {5, {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E, 0x00, 0x00}}, /* 5 */
    {5, {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E, 0x00, 0x00}}, /* 6 */
    {5, {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08, 0x00, 0x00}}, /* 7 */
    {5, {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E, 0x00, 0x00}}, /* 8 */
    {5, {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C, 0x00, 0x00}}, /* 9 */
    {2, {0x00, 0x18, 0x18, 0x00, 0x18, 0x18, 0x00, 0x00, 0x00}}, /* : */
    {2, {0x00, 0x18, 0x18, 0x00, 0x18, 0x18, 0x08, 0x10, 0x00}}, /* ; */
    {4, {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02, 0x00, 0x00}}, /* < */
    {5, {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00, 0x00, 0x00}}, /* = */
    {4, {0x10, 0x08, 0x04, 0x02, 0x04, 0x08, 0x10, 0x00, 0x00}}, /* > */
    {5, {0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04, 0x00, 0x00}}, /* ? */
    {5, {0x0E, 0x11, 0x17, 0x15, 0x17, 0x10, 0x0F, 0x00, 0x00}}, /* @ */
    {5, {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11, 0x00, 0x00}}, /* A */
    {5, {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E, 0x00, 0x00}}, /* B */
    {5, {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E, 0x00, 0x00}}, /* C */
    {5, {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C, 0x00, 0x00}}, /* D */
    {5, {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F, 0x00, 0x00}}, /* E */
    {5, {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10, 0x00, 0x00}}, /* F */
    {5, {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F, 0x00, 0x00}}, /* G */
    {5, {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11, 0x00, 0x00}}, /* H */
    {3, {0x1C, 0x08, 0x08, 0x08, 0x08, 0x08, 0x1C, 0x00, 0x00}}, /* I */
    {5, {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C, 0x00, 0x00}}, /* J */
    {5, {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11, 0x00, 0x00}}, /* K */
    {5, {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F, 0x00, 0x00}}, /* L */
    {5, {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11, 0x00, 0x00}}, /* M */
    {5, {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x00, 0x00}}, /* N */
    {5, {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E, 0x00, 0x00}}, /* O */
    {5, {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10, 0x00, 0x00}}, /* P */
    {5, {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D, 0x00, 0x00}}, /* Q */
    {5, {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11, 0x00, 0x00}}, /* R */
    {5, {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E, 0x00, 0x00}}, /* S */
    {5, {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x00}}, /* T */
    {5, {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E, 0x00, 0x00}}, /* U */
    {5, {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04, 0x00, 0x00}}, /* V */
    {5, {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A, 0x00, 0x00}}, /* W */
    {5, {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11, 0x00, 0x00}}, /* X */
    {5, {0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04, 0x00, 0x00}}, /* Y */
    {5, {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F, 0x00, 0x00}}, /* Z */
    {3, {0x1C, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1C, 0x00, 0x00}}, /* [ */
    {5, {0x10, 0x10, 0x08, 0x04, 0x02, 0x01, 0x01, 0x00, 0x00}}, /* backslash */
    {3, {0x1C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x1C, 0x00, 0x00}}, /* ] */
    {5, {0x04, 0x0A, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}}, /* ^ */
    {5, {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F, 0x00}}, /* _ */
    {2, {0x10, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}}, /* ` */
    {5, {0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F, 0x00, 0x00}}, /* a */
    {5, {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E, 0x00, 0x00}}, /* b */
    {5, {0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E, 0x00, 0x00}}, /* c */
    {5, {0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F, 0x00, 0x00}}, /* d */
    {5, {0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E, 0x00, 0x00}}, /* e */
    {4, {0x06, 0x08, 0x08, 0x1C, 0x08, 0x08, 0x08, 0x00, 0x00}}, /* f */
    {5, {0x00, 0x00, 0x0F, 0x11, 0x11, 0x11, 0x0F, 0x01, 0x0E}}, /* g */
    {5, {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00, 0x00}}, /* h */
    {3, {0x08, 0x00, 0x18, 0x08, 0x08, 0x08, 0x1C, 0x00, 0x00}}, /* i */
    {4, {0x02, 0x00, 0x06, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}}, /* j */
    {4, {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12, 0x00, 0x00}}, /* k */
    {3, {0x18, 0x08, 0x08, 0x08, 0x08, 0x08, 0x1C, 0x00, 0x00}}, /* l */
    {5, {0x00, 0x00, 0x1A, 0x15, 0x15, 0x15, 0x15, 0x00, 0x00}}, /* m */
    {5, {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00, 0x00}}, /* n */
    {5, {0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E, 0x00, 0x00}}, /* o */
    {5, {0x00, 0x00, 0x1E, 0x11, 0x11, 0x11, 0x1E, 0x10, 0x10}}, /* p */
    {5, {0x00, 0x00, 0x0F, 0x11, 0x11, 0x11, 0x0F, 0x01, 0x01}}, /* q */
    {4, {0x00, 0x00, 0x16, 0x18, 0x10, 0x10, 0x10, 0x00, 0x00}}, /* r */
    {5, {0x00, 0x00, 0x0E, 0x10, 0x0E, 0x01, 0x1E, 0x00, 0x00}}, /* s */
    {4, {0x08, 0x08, 0x1C, 0x08, 0x08, 0x08, 0x06, 0x00, 0x00}}, /* t */
    {5, {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D, 0x00, 0x00}}, /* u */
    {5, {0x00, 0x00, 0x11, 0x11, 0x11, 0x0A, 0x04, 0x00, 0x00}}, /* v */
    {5, {0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A, 0x00, 0x00}}, /* w */
    {5, {0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x00, 0x00}}, /* x */
    {5, {0x00, 0x00, 0x11, 0x11, 0x11, 0x11, 0x0F, 0x01, 0x0E}}, /* y */
    {5, {0x00, 0x00, 0x1F, 0x02, 0x04, 0x08, 0x1F, 0x00, 0x00}}, /* z */
    {3, {0x04, 0x08, 0x08, 0x10, 0x08, 0x08, 0x04, 0x00, 0x00}}, /* { */
    {1, {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x00}}, /* | */
    {3, {0x10, 0x08, 0x08, 0x04, 0x08, 0x08, 0x10, 0x00, 0x00}}, /* } */
    {5, {0x00, 0x00, 0x08, 0x15, 0x02, 0x00, 0x00, 0x00, 0x00}}, /* ~ */
};

const char fm_font_chars[] =
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
    "abcdefghijklmnopqrstuvwxyz{|}~";

static const glyph *glyph_of(char ch) {
  unsigned char u = (unsigned char)ch;
  return u >= 32 && u <= 126 ? &font[u - 32] : NULL;
}

int fm_text_width(const char *text, int scale) {
  int w = 0;
  for (const char *t = text; *t; t++) {
    const glyph *g = glyph_of(*t);
    w += (g ? g->width : 5) + 1;
  }
  return w > 0 ? (w - 1) * scale : 0;
}

/* Text whose box has its top-left corner at (x, y); up: turned a quarter anticlockwise,
 * reading from bottom to top, the glyphs' tops to the left. */
static int draw_text(fm_image *img, box clip, int x, int y, const char *text, int scale,
                     fm_color c, int up) {
  int total = fm_text_width(text, scale), pen = 0;
  for (const char *t = text; *t; t++) {
    const glyph *g = glyph_of(*t);
    int gw = g ? g->width : 5;
    for (int r = 0; r < 9; r++)
      for (int k = 0; k < gw; k++) {
        /* A character the font lacks shows as an empty box. */
        int on = g ? (g->rows[r] >> (4 - k)) & 1 : r < 7 && (r == 0 || r == 6 || k == 0 || k == 4);
        if (!on) continue;
        int u = pen + k * scale, v = r * scale;
        if (up) rect(img, clip, x + v, y + total - u - scale, scale, scale, c, 1.0);
        else rect(img, clip, x + u, y + v, scale, scale, c, 1.0);
      }
    pen += (gw + 1) * scale;
  }
  return total;
}

int fm_image_text(fm_image *img, int x, int y, const char *text, int scale, fm_color c) {
  return draw_text(img, whole(img), x, y, text, scale, c, 0);
}

/* ---- Ticks ---- */

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

/* ---- Colour ---- */

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

/* ---- Plot frames ---- */

/* One axis: limits, ticks and their labels. */
typedef struct axis {
  double lo, hi; /* at the centres of the frame's pixel lines; log10 on a log axis */
  int log;
  int n, n_minor;
  double tick[MAX_TICKS]; /* log10 on a log axis */
  double minor[MAX_MINOR];
  char label[MAX_TICKS][24];
  int label_w; /* the widest label, pixels */
} axis;

typedef struct plot {
  fm_image *img;
  const fm_plot_opts *o;
  int s;                        /* text and mark size: 1, 2 from 1280 x 960 up, ... */
  int left, top, right, bottom; /* the frame's pixel columns and rows */
  axis x, y;
  int bar; /* a colour bar right of the frame (heat maps), with its axis */
  axis cb;
  const char *bar_label;
} plot;

/* Lengths in units of p->s pixels. */
enum { PAD = 8, TICK = 4, TICK_GAP = 3, TITLE_GAP = 8, LABEL_GAP = 6, BAR_GAP = 12, BAR_W = 14 };
#define LINE_H (FM_FONT_ASCENT + FM_FONT_DESCENT)

/* How a plot makes one unit as long on x as on y: by widening the limits (points) or
 * narrowing the frame (a grid, which has nothing to show outside it). */
typedef enum fit { FIT_FREE, FIT_EXPAND, FIT_SHRINK } fit;

/* Pixel coordinate of axis value t when lo falls on the centre of pixel line `from` and
 * hi on that of `to`. */
static double along(const axis *a, double t, int from, int to) {
  return from + 0.5 + (t - a->lo) / (a->hi - a->lo) * (to - from);
}

static double map_x(const plot *p, double v) { return along(&p->x, v, p->left, p->right); }

static double map_y(const plot *p, double v) {
  return along(&p->y, p->y.log ? log10(v) : v, p->bottom, p->top);
}

static box frame_box(const plot *p) {
  box b = {p->left, p->top, p->right + 1, p->bottom + 1};
  return b;
}

static void axis_ticks(axis *a, int length, int spacing, int s) {
  int max = length / spacing;
  max = max < 2 ? 2 : max > MAX_TICKS ? MAX_TICKS : max;
  double v[MAX_TICKS], step = 0;
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
      if (!major && t >= a->lo && t <= a->hi && a->n_minor < MAX_MINOR) a->minor[a->n_minor++] = t;
    }
}

static int bar_room(const plot *p) {
  int s = p->s;
  return (BAR_GAP + BAR_W + TICK + TICK_GAP) * s + p->cb.label_w +
         (p->bar_label ? (LABEL_GAP + LINE_H) * s : 0);
}

/* Places the frame and ticks: margins for the title, the tick labels and the axis labels,
 * recomputed until the labels of the final ticks fit them. */
static void layout(plot *p, double xlo, double xhi, double ylo, double yhi, fit f) {
  const fm_plot_opts *o = p->o;
  int s = p->s, W = p->img->width, H = p->img->height;
  int top = PAD * s + (o->title ? (2 * FM_FONT_ASCENT + TITLE_GAP) * s : 0);
  int bottom = H - 1 - (PAD + TICK + TICK_GAP + FM_FONT_ASCENT) * s -
               (o->xlabel ? (LABEL_GAP + LINE_H) * s : 0);
  int lm = PAD * s, rm = PAD * s;
  for (int iter = 0; iter < 6; iter++) {
    int L = lm, R = W - 1 - rm, T = top, B = bottom;
    if (R < L + 16) R = L + 16;
    if (B < T + 16) B = T + 16;
    double xl = xlo, xh = xhi, yl = ylo, yh = yhi;
    double ux = (xh - xl) / (R - L), uy = (yh - yl) / (B - T);
    if (f == FIT_EXPAND) {
      double u = fmax(ux, uy), xc = 0.5 * (xl + xh), yc = 0.5 * (yl + yh);
      xl = xc - 0.5 * u * (R - L), xh = xc + 0.5 * u * (R - L);
      yl = yc - 0.5 * u * (B - T), yh = yc + 0.5 * u * (B - T);
    } else if (f == FIT_SHRINK && ux < uy) {
      int w = (int)lround((xh - xl) / uy);
      L += (R - L - w) / 2, R = L + w;
    } else if (f == FIT_SHRINK) {
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
    if (f == FIT_SHRINK) rm2 = rm2 > rm ? rm2 : rm; /* the centred frame may move; never back */
    if (lm2 == lm && rm2 == rm) break;
    lm = lm2, rm = rm2;
  }
}

static void draw_grid(plot *p) {
  box all = whole(p->img);
  int s = p->s;
  for (int i = 0; i < p->x.n; i++) {
    int c = (int)floor(along(&p->x, p->x.tick[i], p->left, p->right));
    rect(p->img, all, c - (s - 1) / 2, p->top, s, p->bottom - p->top + 1, GRID, 1.0);
  }
  for (int i = 0; i < p->y.n; i++) {
    int r = (int)floor(along(&p->y, p->y.tick[i], p->bottom, p->top));
    rect(p->img, all, p->left, r - (s - 1) / 2, p->right - p->left + 1, s, GRID, 1.0);
  }
}

/* Labels of a vertical axis (the y axis, left of x, or the colour bar's, right of x). */
static void vertical_ticks(plot *p, const axis *a, int x, int right_side) {
  box all = whole(p->img);
  int s = p->s, tick = TICK * s;
  for (int i = 0; i < a->n_minor; i++) {
    int r = (int)floor(along(a, a->minor[i], p->bottom, p->top));
    rect(p->img, all, right_side ? x : x - tick / 2, r - (s - 1) / 2, tick / 2, s, INK, 1.0);
  }
  for (int i = 0; i < a->n; i++) {
    int r = (int)floor(along(a, a->tick[i], p->bottom, p->top));
    int w = fm_text_width(a->label[i], s);
    rect(p->img, all, right_side ? x : x - tick, r - (s - 1) / 2, tick, s, INK, 1.0);
    int tx = right_side ? x + tick + TICK_GAP * s : x - tick - TICK_GAP * s - w;
    draw_text(p->img, all, tx, r - (FM_FONT_ASCENT * s - s) / 2, a->label[i], s, INK, 0);
  }
}

/* The frame (s pixels thick, growing outwards), ticks, tick labels, title, axis labels. */
static void draw_axes(plot *p) {
  fm_image *img = p->img;
  box all = whole(img);
  const fm_plot_opts *o = p->o;
  int s = p->s, tick = TICK * s, w;
  int fw = p->right - p->left + 2 * s - 1, fh = p->bottom - p->top + 2 * s - 1;
  rect(img, all, p->left - s + 1, p->top - s + 1, fw, s, INK, 1.0);
  rect(img, all, p->left - s + 1, p->bottom, fw, s, INK, 1.0);
  rect(img, all, p->left - s + 1, p->top - s + 1, s, fh, INK, 1.0);
  rect(img, all, p->right, p->top - s + 1, s, fh, INK, 1.0);
  int label_top = p->bottom + s + tick + TICK_GAP * s;
  for (int i = 0; i < p->x.n; i++) {
    int c = (int)floor(along(&p->x, p->x.tick[i], p->left, p->right));
    rect(img, all, c - (s - 1) / 2, p->bottom + s, s, tick, INK, 1.0);
    w = fm_text_width(p->x.label[i], s);
    draw_text(img, all, c + s / 2 - w / 2, label_top, p->x.label[i], s, INK, 0);
  }
  vertical_ticks(p, &p->y, p->left - s + 1, 0);
  if (o->title) {
    w = fm_text_width(o->title, 2 * s);
    int x = (p->left + p->right + 1 - w) / 2;
    draw_text(img, all, x > PAD * s ? x : PAD * s, PAD * s, o->title, 2 * s, INK, 0);
  }
  if (o->xlabel) {
    w = fm_text_width(o->xlabel, s);
    draw_text(img, all, (p->left + p->right + 1 - w) / 2,
              label_top + (FM_FONT_ASCENT + LABEL_GAP) * s, o->xlabel, s, INK, 0);
  }
  if (o->ylabel) {
    w = fm_text_width(o->ylabel, s);
    /* Beside the tick labels, wherever the frame is (a heat map's may be narrowed). */
    int x = p->left - s + 1 - tick - (TICK_GAP + LABEL_GAP + LINE_H) * s - p->y.label_w;
    draw_text(img, all, x, (p->top + p->bottom + 1 - w) / 2, o->ylabel, s, INK, 1);
  }
}

/* The colour bar: the colour map from cb.lo (bottom) to cb.hi (top) beside the frame. */
static void draw_bar(plot *p) {
  box all = whole(p->img);
  int s = p->s, x0 = p->right + BAR_GAP * s, bw = BAR_W * s;
  for (int r = p->top; r <= p->bottom; r++) {
    double t = (double)(p->bottom - r) / (p->bottom - p->top);
    rect(p->img, all, x0, r, bw, 1, fm_colormap_viridis(t), 1.0);
  }
  int fh = p->bottom - p->top + 2 * s - 1;
  rect(p->img, all, x0 - s, p->top - s + 1, bw + 2 * s, s, INK, 1.0);
  rect(p->img, all, x0 - s, p->bottom, bw + 2 * s, s, INK, 1.0);
  rect(p->img, all, x0 - s, p->top - s + 1, s, fh, INK, 1.0);
  rect(p->img, all, x0 + bw, p->top - s + 1, s, fh, INK, 1.0);
  vertical_ticks(p, &p->cb, x0 + bw + s, 1);
  if (p->bar_label) {
    int w = fm_text_width(p->bar_label, s);
    int x = x0 + bw + s + (TICK + TICK_GAP) * s + p->cb.label_w + LABEL_GAP * s;
    draw_text(p->img, all, x, (p->top + p->bottom + 1 - w) / 2, p->bar_label, s, INK, 1);
  }
}

enum { MAX_LEGEND = 12 };

typedef struct legend_item {
  fm_color c;
  int line; /* a line, else a dot */
  const char *label;
} legend_item;

static void draw_legend(plot *p, const legend_item *items, int n) {
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
  box all = whole(img);
  rect(img, all, x, y, w, h, BACKGROUND, 0.85);
  rect(img, all, x, y, w, s, LEGEND_EDGE, 1.0);
  rect(img, all, x, y + h - s, w, s, LEGEND_EDGE, 1.0);
  rect(img, all, x, y, s, h, LEGEND_EDGE, 1.0);
  rect(img, all, x + w - s, y, s, h, LEGEND_EDGE, 1.0);
  for (int i = 0; i < n; i++) {
    int ty = y + in + i * row;
    double cy = ty + 0.5 * FM_FONT_ASCENT * s;
    sink sk = {img, all, items[i].c, 1.0, NULL};
    if (items[i].line) segment(&sk, x + in, cy, x + in + sw, cy, 2 * s);
    else disk(&sk, x + in + 0.5 * sw, cy, 3 * s);
    draw_text(img, all, x + in + sw + 5 * s, ty, items[i].label, s, INK, 0);
  }
}

static void set_info(const plot *p, fm_plot_info *info, long skipped) {
  if (!info) return;
  info->left = p->left, info->top = p->top, info->right = p->right, info->bottom = p->bottom;
  info->xmin = p->x.lo, info->xmax = p->x.hi, info->ymin = p->y.lo, info->ymax = p->y.hi;
  info->log_y = p->y.log;
  info->skipped = skipped;
}

void fm_plot_to_pixel(const fm_plot_info *info, double x, double y, double *px, double *py) {
  if (info->log_y) y = log10(y);
  *px = info->left + 0.5 + (x - info->xmin) / (info->xmax - info->xmin) * (info->right - info->left);
  *py = info->bottom + 0.5 - (y - info->ymin) / (info->ymax - info->ymin) * (info->bottom - info->top);
}

static const fm_plot_opts default_opts;

/* Checks the options and makes the image. */
static fm_status plot_begin(plot *p, const char *what, const fm_plot_opts *opts, fm_image *out) {
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

typedef struct range {
  double lo, hi;
} range;

static const range empty_range = {INFINITY, -INFINITY};

static void range_add(range *r, double v) {
  if (v < r->lo) r->lo = v;
  if (v > r->hi) r->hi = v;
}

/* The given limits, or the data's range with a 5% margin on each side. */
static void limits(double given_lo, double given_hi, range r, double *lo, double *hi) {
  if (given_lo != given_hi) {
    *lo = given_lo, *hi = given_hi;
    return;
  }
  double span = r.hi - r.lo, margin = span > 0 ? 0.05 * span : r.lo != 0 ? 0.1 * fabs(r.lo) : 1;
  *lo = r.lo - margin, *hi = r.hi + margin;
}

/* Equal axes for point plots unless told otherwise, and only when the limits are the data's. */
static fit point_fit(const fm_plot_opts *o) {
  if (o->aspect == FM_ASPECT_EQUAL) return FIT_EXPAND;
  if (o->aspect == FM_ASPECT_FREE) return FIT_FREE;
  return o->xmin == o->xmax && o->ymin == o->ymax ? FIT_EXPAND : FIT_FREE;
}

/* Columns cx, cy of dim-dimensional points (cx == cy: 0 and 1); set >= 0 names a set. */
static fm_status check_columns(const char *what, int set, int dim, int *cx, int *cy) {
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
static double crowd_alpha(long n) {
  double a = 0.8 * sqrt(1000.0 / (double)n);
  return a < 0.15 ? 0.15 : a > 0.9 ? 0.9 : a;
}

/* ---- Plots ---- */

fm_status fm_plot_scatter(const fm_plot_opts *opts, const fm_plot_points *sets, int n_sets,
                          fm_image *out, fm_plot_info *info) {
  const char *what = "scatter plot";
  memset(out, 0, sizeof *out);
  if (!sets || n_sets <= 0)
    return fm_fail(FM_ERR_INVALID, "%s: no point sets (n_sets = %d); pass at least one", what, n_sets);
  range rx = empty_range, ry = empty_range;
  long skipped = 0, total = 0;
  fm_status st;
  for (int k = 0; k < n_sets; k++) {
    const fm_plot_points *q = &sets[k];
    int cx = q->cx, cy = q->cy;
    if (q->n <= 0)
      return fm_fail(FM_ERR_INVALID, "%s: set %d: n must be positive, got %d", what, k, q->n);
    if (!q->x) return fm_fail(FM_ERR_INVALID, "%s: set %d: no points (x is NULL)", what, k);
    if ((st = check_columns(what, k, q->dim, &cx, &cy)) != FM_OK) return st;
    for (int i = 0; i < q->n; i++) {
      double x = q->x[(size_t)i * q->dim + cx], y = q->x[(size_t)i * q->dim + cy];
      if (isfinite(x) && isfinite(y)) range_add(&rx, x), range_add(&ry, y);
      else skipped++;
    }
    total += q->n;
  }
  if (skipped == total)
    return fm_fail(FM_ERR_INVALID, "%s: none of the %ld points is finite; nothing to draw (did "
                   "sampling diverge?)", what, total);
  plot p;
  FM_TRY(plot_begin(&p, what, opts, out));
  double xlo, xhi, ylo, yhi;
  limits(p.o->xmin, p.o->xmax, rx, &xlo, &xhi);
  limits(p.o->ymin, p.o->ymax, ry, &ylo, &yhi);
  layout(&p, xlo, xhi, ylo, yhi, point_fit(p.o));
  draw_grid(&p);
  legend_item items[MAX_LEGEND];
  int n_items = 0;
  for (int k = 0; k < n_sets; k++) {
    const fm_plot_points *q = &sets[k];
    int cx = q->cx, cy = q->cy;
    (void)check_columns(what, k, q->dim, &cx, &cy); /* checked above; resolves cx == cy */
    sink sk = {out, frame_box(&p), q->color ? q->color : palette[k % 6],
               q->alpha > 0 ? q->alpha : crowd_alpha(q->n), NULL};
    double r = (q->radius > 0 ? q->radius : 1.6) * p.s;
    for (int i = 0; i < q->n; i++)
      disk(&sk, map_x(&p, q->x[(size_t)i * q->dim + cx]), map_y(&p, q->x[(size_t)i * q->dim + cy]), r);
    if (q->label && n_items < MAX_LEGEND) items[n_items++] = (legend_item){sk.c, 0, q->label};
  }
  draw_legend(&p, items, n_items);
  draw_axes(&p);
  set_info(&p, info, skipped);
  return FM_OK;
fail:
  fm_image_free(out);
  return st;
}

/* The grid's value at (u, v): bilinear between cell centres, the nearest cell where a
 * neighbour is not finite, NAN where that one is not either. */
static double grid_at(const fm_plot_grid *g, double u, double v) {
  double fx = (u - g->xmin) / (g->xmax - g->xmin) * g->nx - 0.5;
  double fy = (v - g->ymin) / (g->ymax - g->ymin) * g->ny - 0.5;
  fx = fx < 0 ? 0 : fx > g->nx - 1 ? g->nx - 1 : fx;
  fy = fy < 0 ? 0 : fy > g->ny - 1 ? g->ny - 1 : fy;
  int i0 = (int)fx, j0 = (int)fy, i1 = i0 + 1 < g->nx ? i0 + 1 : i0, j1 = j0 + 1 < g->ny ? j0 + 1 : j0;
  double wx = fx - i0, wy = fy - j0;
  double a = g->v[(size_t)j0 * g->nx + i0], b = g->v[(size_t)j0 * g->nx + i1];
  double c = g->v[(size_t)j1 * g->nx + i0], d = g->v[(size_t)j1 * g->nx + i1];
  if (isfinite(a) && isfinite(b) && isfinite(c) && isfinite(d))
    return (1 - wy) * ((1 - wx) * a + wx * b) + wy * ((1 - wx) * c + wx * d);
  double nearest = g->v[(size_t)(wy < 0.5 ? j0 : j1) * g->nx + (wx < 0.5 ? i0 : i1)];
  return isfinite(nearest) ? nearest : NAN;
}

fm_status fm_plot_heatmap(const fm_plot_opts *opts, const fm_plot_grid *grid, fm_image *out,
                          fm_plot_info *info) {
  const char *what = "heat map";
  const fm_plot_grid *g = grid;
  memset(out, 0, sizeof *out);
  if (!g || !g->v) return fm_fail(FM_ERR_INVALID, "%s: no grid values (v is NULL)", what);
  if (g->nx <= 0 || g->ny <= 0)
    return fm_fail(FM_ERR_INVALID, "%s: a %d x %d grid has no cells; nx and ny must be positive",
                   what, g->nx, g->ny);
  if (!(isfinite(g->xmin) && isfinite(g->xmax) && isfinite(g->ymin) && isfinite(g->ymax) &&
        g->xmin < g->xmax && g->ymin < g->ymax))
    return fm_fail(FM_ERR_INVALID, "%s: grid area [%g, %g] x [%g, %g]; each min must be below "
                   "its max, all finite", what, g->xmin, g->xmax, g->ymin, g->ymax);
  size_t cells = (size_t)g->nx * (size_t)g->ny;
  range rv = empty_range;
  long skipped = 0;
  for (size_t i = 0; i < cells; i++) {
    if (isfinite(g->v[i])) range_add(&rv, g->v[i]);
    else skipped++;
  }
  if ((size_t)skipped == cells)
    return fm_fail(FM_ERR_INVALID, "%s: none of the %zu cells is finite; nothing to draw", what,
                   cells);
  double vlo = rv.lo, vhi = rv.hi;
  if (g->vmin != g->vmax) {
    if (!(isfinite(g->vmin) && isfinite(g->vmax) && g->vmin < g->vmax))
      return fm_fail(FM_ERR_INVALID, "%s: colour scale [%g, %g]; vmin must be below vmax and "
                     "both finite (equal for the values' range)", what, g->vmin, g->vmax);
    vlo = g->vmin, vhi = g->vmax;
  } else if (vlo == vhi) {
    double h = vlo != 0 ? 0.05 * fabs(vlo) : 0.5;
    vlo -= h, vhi += h;
  }
  plot p;
  fm_status st;
  FM_TRY(plot_begin(&p, what, opts, out));
  p.bar = 1, p.cb.lo = vlo, p.cb.hi = vhi, p.bar_label = g->label;
  fit f = p.o->aspect == FM_ASPECT_FREE ? FIT_FREE : FIT_SHRINK;
  layout(&p, g->xmin, g->xmax, g->ymin, g->ymax, f);
  for (int j = p.top; j <= p.bottom; j++) {
    double v = p.y.lo + (double)(p.bottom - j) / (p.bottom - p.top) * (p.y.hi - p.y.lo);
    for (int i = p.left; i <= p.right; i++) {
      double u = p.x.lo + (double)(i - p.left) / (p.right - p.left) * (p.x.hi - p.x.lo);
      double val = grid_at(g, u, v);
      put(out, i, j, isfinite(val) ? fm_colormap_viridis((val - vlo) / (vhi - vlo)) : MISSING, 1.0);
    }
  }
  draw_bar(&p);
  draw_axes(&p);
  set_info(&p, info, skipped);
  return FM_OK;
fail:
  fm_image_free(out);
  return st;
}

static int path_finite(const float *x, int steps, int n, int dim, int cx, int cy, int i) {
  for (int t = 0; t < steps; t++) {
    const float *q = x + ((size_t)t * n + i) * dim;
    if (!isfinite(q[cx]) || !isfinite(q[cy])) return 0;
  }
  return 1;
}

fm_status fm_plot_trajectories(const fm_plot_opts *opts, const float *x, int steps, int n,
                               int dim, int cx, int cy, fm_image *out, fm_plot_info *info) {
  const char *what = "trajectory plot";
  memset(out, 0, sizeof *out);
  if (!x) return fm_fail(FM_ERR_INVALID, "%s: no points (x is NULL)", what);
  if (steps < 2)
    return fm_fail(FM_ERR_INVALID, "%s: steps must be at least 2 (start and end), got %d", what,
                   steps);
  if (n <= 0) return fm_fail(FM_ERR_INVALID, "%s: n must be positive, got %d", what, n);
  fm_status st = check_columns(what, -1, dim, &cx, &cy);
  if (st != FM_OK) return st;
  range rx = empty_range, ry = empty_range;
  long skipped = 0;
  for (int i = 0; i < n; i++) {
    if (!path_finite(x, steps, n, dim, cx, cy, i)) {
      skipped++;
      continue;
    }
    for (int t = 0; t < steps; t++) {
      const float *q = x + ((size_t)t * n + i) * dim;
      range_add(&rx, q[cx]), range_add(&ry, q[cy]);
    }
  }
  if (skipped == n)
    return fm_fail(FM_ERR_INVALID, "%s: none of the %d trajectories is finite all the way; "
                   "nothing to draw (did sampling diverge?)", what, n);
  plot p;
  double *xy = NULL;
  FM_TRY(plot_begin(&p, what, opts, out));
  double xlo, xhi, ylo, yhi;
  limits(p.o->xmin, p.o->xmax, rx, &xlo, &xhi);
  limits(p.o->ymin, p.o->ymax, ry, &ylo, &yhi);
  layout(&p, xlo, xhi, ylo, yhi, point_fit(p.o));
  draw_grid(&p);
  xy = malloc((size_t)steps * 2 * sizeof *xy);
  if (!xy) {
    st = fm_fail(FM_ERR_NOMEM, "%s: out of host memory for a path of %d steps", what, steps);
    goto fail;
  }
  double line_alpha = sqrt(50.0 / n);
  line_alpha = line_alpha < 0.12 ? 0.12 : line_alpha > 0.8 ? 0.8 : line_alpha;
  for (int i = 0; i < n; i++) {
    if (!path_finite(x, steps, n, dim, cx, cy, i)) continue;
    for (int t = 0; t < steps; t++) {
      const float *q = x + ((size_t)t * n + i) * dim;
      xy[2 * t] = map_x(&p, q[cx]), xy[2 * t + 1] = map_y(&p, q[cy]);
    }
    FM_TRY(polyline(out, frame_box(&p), xy, steps, p.s, PATH, line_alpha));
  }
  static const fm_color ends[2] = {FM_COLOR_ORANGE, FM_COLOR_BLUE};
  for (int e = 0; e < 2; e++) {
    sink sk = {out, frame_box(&p), ends[e], crowd_alpha(n), NULL};
    const float *snap = x + (size_t)(e ? steps - 1 : 0) * n * dim;
    for (int i = 0; i < n; i++) {
      const float *q = snap + (size_t)i * dim;
      if (path_finite(x, steps, n, dim, cx, cy, i))
        disk(&sk, map_x(&p, q[cx]), map_y(&p, q[cy]), 1.8 * p.s);
    }
  }
  legend_item items[2] = {{ends[0], 0, "noise, t=0"}, {ends[1], 0, "samples, t=1"}};
  draw_legend(&p, items, 2);
  draw_axes(&p);
  set_info(&p, info, skipped);
  free(xy);
  return FM_OK;
fail:
  free(xy);
  fm_image_free(out);
  return st;
}

fm_status fm_plot_lines(const fm_plot_opts *opts, const fm_plot_series *series, int n_series,
                        fm_image *out, fm_plot_info *info) {
  const char *what = "line plot";
  memset(out, 0, sizeof *out);
  if (!series || n_series <= 0)
    return fm_fail(FM_ERR_INVALID, "%s: no series (n_series = %d); pass at least one", what, n_series);
  int log_y = opts && opts->log_y;
  range rx = empty_range, ry = empty_range;
  long skipped = 0, total = 0;
  for (int k = 0; k < n_series; k++) {
    const fm_plot_series *q = &series[k];
    if (q->n <= 0)
      return fm_fail(FM_ERR_INVALID, "%s: series %d: n must be positive, got %d", what, k, q->n);
    if (!q->y) return fm_fail(FM_ERR_INVALID, "%s: series %d: no values (y is NULL)", what, k);
    for (int i = 0; i < q->n; i++) {
      double x = q->x ? q->x[i] : i, y = q->y[i];
      if (isfinite(x) && isfinite(y) && (!log_y || y > 0))
        range_add(&rx, x), range_add(&ry, log_y ? log10(y) : y);
      else skipped++;
    }
    total += q->n;
  }
  if (skipped == total)
    return fm_fail(FM_ERR_INVALID, "%s: none of the %ld points is finite%s; nothing to draw", what,
                   total, log_y ? " and positive (the y axis is logarithmic)" : "");
  plot p;
  double *xy = NULL;
  fm_status st;
  FM_TRY(plot_begin(&p, what, opts, out));
  const fm_plot_opts *o = p.o;
  p.y.log = log_y;
  double xlo, xhi, ylo, yhi;
  limits(o->xmin, o->xmax, rx, &xlo, &xhi);
  if (log_y && o->ymin != o->ymax) ylo = log10(o->ymin), yhi = log10(o->ymax);
  else limits(o->ymin, o->ymax, ry, &ylo, &yhi);
  layout(&p, xlo, xhi, ylo, yhi, o->aspect == FM_ASPECT_EQUAL ? FIT_EXPAND : FIT_FREE);
  draw_grid(&p);
  legend_item items[MAX_LEGEND];
  int n_items = 0;
  for (int k = 0; k < n_series; k++) {
    const fm_plot_series *q = &series[k];
    fm_color c = q->color ? q->color : palette[(k + 1) % 6];
    double alpha = q->alpha > 0 ? q->alpha : 1.0, width = (q->width > 0 ? q->width : 1.5) * p.s;
    xy = malloc((size_t)q->n * 2 * sizeof *xy);
    if (!xy) {
      st = fm_fail(FM_ERR_NOMEM, "%s: out of host memory for a series of %d points", what, q->n);
      goto fail;
    }
    int run = 0; /* points since the last break */
    for (int i = 0; i <= q->n; i++) {
      double x = i < q->n && q->x ? q->x[i] : i, y = i < q->n ? q->y[i] : NAN;
      if (isfinite(x) && isfinite(y) && (!log_y || y > 0)) {
        xy[2 * run] = map_x(&p, x), xy[2 * run + 1] = map_y(&p, y);
        run++;
      } else if (run > 0) {
        FM_TRY(polyline(out, frame_box(&p), xy, run, width, c, alpha));
        run = 0;
      }
    }
    free(xy);
    xy = NULL;
    if (q->label && n_items < MAX_LEGEND) items[n_items++] = (legend_item){c, 1, q->label};
  }
  draw_legend(&p, items, n_items);
  draw_axes(&p);
  set_info(&p, info, skipped);
  return FM_OK;
fail:
  free(xy);
  fm_image_free(out);
  return st;
}
