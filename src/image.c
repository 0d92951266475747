/* 8-bit RGB images and what the plots draw into them: filled boxes, anti-aliased lines and
 * disks (blended once per pixel along a polyline), and text in a bitmap font; written as
 * PNG through png.c. */
#include "fmcl/image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "internal.h"
#include "png.h"

enum { MAX_SIDE = 16384 };

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

fm_box fm_image_box(const fm_image *img) {
  fm_box b = {0, 0, img->width, img->height};
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

void fm_image_rect_in(fm_image *img, fm_box clip, int x, int y, int w, int h, fm_color c, double alpha) {
  int x0 = x > clip.x0 ? x : clip.x0, y0 = y > clip.y0 ? y : clip.y0;
  int x1 = x + w < clip.x1 ? x + w : clip.x1, y1 = y + h < clip.y1 ? y + h : clip.y1;
  for (int j = y0; j < y1; j++)
    for (int i = x0; i < x1; i++) put(img, i, j, c, alpha);
}

void fm_image_fill(fm_image *img, fm_color c) {
  fm_image_rect_in(img, fm_image_box(img), 0, 0, img->width, img->height, c, 1.0);
}

void fm_image_blend(fm_image *img, int x, int y, fm_color c, float alpha) {
  if (x >= 0 && y >= 0 && x < img->width && y < img->height) put(img, x, y, c, alpha);
}

void fm_image_rect(fm_image *img, int x, int y, int w, int h, fm_color c, float alpha) {
  fm_image_rect_in(img, fm_image_box(img), x, y, w, h, c, alpha);
}

/* Where anti-aliased shapes put their coverage: blended straight into the image, or kept
 * (the largest per pixel) in a mask over the box clip, to be blended once. */
typedef struct sink {
  fm_image *img;
  fm_box clip;
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
  sink s = {img, fm_image_box(img), c, alpha, NULL};
  segment(&s, x0, y0, x1, y1, width);
}

void fm_image_line_in(fm_image *img, fm_box clip, double x0, double y0, double x1, double y1,
                     double width, fm_color c, double alpha) {
  sink s = {img, clip, c, alpha, NULL};
  segment(&s, x0, y0, x1, y1, width);
}

void fm_image_disk_in(fm_image *img, fm_box clip, double cx, double cy, double radius, fm_color c,
                  double alpha) {
  sink s = {img, clip, c, alpha, NULL};
  disk(&s, cx, cy, radius);
}

/* Segments through the finite points of xy (n, 2) in a mask over their bounding box (within
 * clip), blended once, so joints and overlaps do not darken a translucent line. */
fm_status fm_image_polyline_in(fm_image *img, fm_box clip, const double *xy, int n, double width,
                          fm_color c, double alpha) {
  double reach = 0.5 * (width > 1 ? width : 1) + 1;
  double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
  for (int i = 0; i < 2 * n; i++)
    if (isfinite(xy[i])) lo[i % 2] = fmin(lo[i % 2], xy[i]), hi[i % 2] = fmax(hi[i % 2], xy[i]);
  if (!(lo[0] <= hi[0]) || !(lo[1] <= hi[1])) return FM_OK;
  fm_box b = {clampi(floor(lo[0] - reach), clip.x0, clip.x1),
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
  return fm_image_polyline_in(img, fm_image_box(img), xy, n, width, c, alpha);
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
int fm_image_text_in(fm_image *img, fm_box clip, int x, int y, const char *text, int scale,
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
        if (up) fm_image_rect_in(img, clip, x + v, y + total - u - scale, scale, scale, c, 1.0);
        else fm_image_rect_in(img, clip, x + u, y + v, scale, scale, c, 1.0);
      }
    pen += (gw + 1) * scale;
  }
  return total;
}

int fm_image_text(fm_image *img, int x, int y, const char *text, int scale, fm_color c) {
  return fm_image_text_in(img, fm_image_box(img), x, y, text, scale, c, 0);
}

