/* 8-bit RGB images and drawing into them: boxes, anti-aliased lines, polylines and disks,
 * and text in a built-in bitmap font; written as PNG files. The plots of fmcl/plot.h are
 * made of these. */
#ifndef FMCL_IMAGE_H
#define FMCL_IMAGE_H

#include <stdint.h>

#include "fmcl/status.h"

/* A colour, 0xRRGGBB. */
typedef uint32_t fm_color;

/* An 8-bit RGB image, rows top to bottom. Plain data: free with fm_image_free. */
typedef struct fm_image {
  uint8_t *rgb; /* (height, width, 3) */
  int width, height;
} fm_image;

/* A width x height image filled with background (sides from 1 to 16384). */
fm_status fm_image_create(int width, int height, fm_color background, fm_image *out);
void fm_image_free(fm_image *img);

/* Writes img as a PNG file (8-bit RGB): to "<path>.tmp", then renamed over path, so a
 * failed write leaves no file and an older one unchanged. */
fm_status fm_image_write_png(const fm_image *img, const char *path);

/* Drawing clips to the image. Pixel (i, j) covers [i, i+1) x [j, j+1) from the top-left
 * corner, so its centre is (i + 0.5, j + 0.5). alpha in [0, 1] blends c over what is
 * there; lines and disks are anti-aliased. */
void fm_image_fill(fm_image *img, fm_color c);
void fm_image_blend(fm_image *img, int x, int y, fm_color c, float alpha);
/* Pixels [x, x + w) x [y, y + h). */
void fm_image_rect(fm_image *img, int x, int y, int w, int h, fm_color c, float alpha);
void fm_image_line(fm_image *img, double x0, double y0, double x1, double y1, double width,
                   fm_color c, float alpha);
/* Connected segments through xy (n, 2), each pixel blended once where they overlap. */
fm_status fm_image_polyline(fm_image *img, const double *xy, int n, double width, fm_color c,
                            float alpha);

/* Text in the built-in bitmap font: capitals and digits are FM_FONT_ASCENT pixels tall and
 * g, j, p, q, y reach FM_FONT_DESCENT below, each pixel a scale x scale square. (x, y) is
 * the top-left corner of the first capital. A character the font lacks is drawn as a box.
 * Returns the width drawn. */
#define FM_FONT_ASCENT 7
#define FM_FONT_DESCENT 2
int fm_image_text(fm_image *img, int x, int y, const char *text, int scale, fm_color c);
int fm_text_width(const char *text, int scale);
/* Every character the font draws: printable ASCII (space to '~'). */
extern const char fm_font_chars[];

/* ---- Drawing limited to a box of pixels (a plot's frame): the same, clipped ---- */

/* Pixels [x0, x1) x [y0, y1). */
typedef struct fm_box {
  int x0, y0, x1, y1;
} fm_box;

/* The whole image. */
fm_box fm_image_box(const fm_image *img);

void fm_image_rect_in(fm_image *img, fm_box clip, int x, int y, int w, int h, fm_color c,
                  double alpha);
void fm_image_line_in(fm_image *img, fm_box clip, double x0, double y0, double x1, double y1,
                     double width, fm_color c, double alpha);
void fm_image_disk_in(fm_image *img, fm_box clip, double cx, double cy, double radius, fm_color c,
                  double alpha);
/* Segments through the finite points of xy (n, 2), blended once per pixel. */
fm_status fm_image_polyline_in(fm_image *img, fm_box clip, const double *xy, int n, double width,
                           fm_color c, double alpha);
/* Text with its box's top-left corner at (x, y); up: turned a quarter anticlockwise.
 * Returns its width in pixels. */
int fm_image_text_in(fm_image *img, fm_box clip, int x, int y, const char *text, int scale,
                 fm_color c, int up);

#endif
