/* The frame of a plot, shared by the plots of plot.c: the axes with their ticks, the
 * layout of frame, title and labels, the legend and the colour bar, and the mapping of data
 * to pixels, drawn with cairo into the figure's recording. Internal. */
#ifndef FMCL_PLOT_FRAME_H
#define FMCL_PLOT_FRAME_H

#include <cairo.h>

#include "fmcl/plot.h"

#define BACKGROUND 0xFFFFFFu
#define INK 0x222222u     /* frame, ticks and text */
#define GRID 0xEBEBEBu    /* lines at the ticks, behind the data */
#define MISSING 0xBFBFBFu /* heat map cells with no finite value near */
#define PATH 0x6BAED6u    /* trajectory lines */
#define LEGEND_EDGE 0xBBBBBBu
#define NOTE 0x666666u /* the note under the title */

enum { FM_MAX_TICKS = 16, FM_MAX_MINOR = 64 };

extern const fm_color fm_palette[6];

/* One axis: limits, ticks and their labels. */
typedef struct fm_axis {
  double lo, hi; /* at the centres of the frame's pixel lines; log10 on a log axis */
  int log;
  int n, n_minor;
  double tick[FM_MAX_TICKS]; /* log10 on a log axis */
  double minor[FM_MAX_MINOR];
  char label[FM_MAX_TICKS][24];
  double label_w; /* the widest label, pixels */
} fm_axis;

typedef struct fm_frame {
  fm_figure *fig;
  cairo_t *cr; /* drawing into fig's recording */
  const fm_plot_opts *o;
  int s;                        /* text and mark size: 1, 2 from 1280 x 960 up, ... */
  int left, top, right, bottom; /* the frame's pixel columns and rows */
  fm_axis x, y;
  int bar; /* a colour bar right of the frame (heat maps), with its axis */
  fm_axis cb;
  const char *bar_label;
  const char *note; /* a line under the title, or NULL */
} fm_frame;

/* Lengths in units of p->s pixels; FONT and TITLE_FONT are the text's em sizes. */
enum { PAD = 8, TICK = 4, TICK_GAP = 3, TITLE_GAP = 8, LABEL_GAP = 6, BAR_GAP = 12, BAR_W = 14 };
enum { FONT = 11, TITLE_FONT = 15 };
#define CAP_H (0.73 * FONT) /* DejaVu Sans' capitals */
#define LINE_H (1.17 * FONT) /* a line's ascent and descent */

/* How a plot makes one unit as long on x as on y: by widening the limits (points) or
 * narrowing the frame (a grid, which has nothing to show outside it). */
typedef enum fm_fit { FM_FIT_FREE, FM_FIT_EXPAND, FM_FIT_SHRINK } fm_fit;

enum { FM_MAX_LEGEND = 12 };

typedef struct fm_legend_item {
  fm_color c;
  int line; /* a line, else a dot */
  const char *label;
} fm_legend_item;

typedef struct fm_range {
  double lo, hi;
} fm_range;

/* The figure's side of a plot (figure.c): a W x H recording to draw into with *cr, and
 * the drawing so far as pixels (an RGB24 image surface; NULL when out of memory). */
fm_status fm_figure_start(fm_figure *fig, int width, int height, cairo_t **cr);
cairo_surface_t *fm_figure_raster(const fm_figure *fig);

/* Checks the options and starts the figure; fm_frame_end finishes it (st != FM_OK: frees
 * it) and returns st. */
fm_status fm_frame_begin(fm_frame *p, const char *what, const fm_plot_opts *opts, fm_figure *out);
fm_status fm_frame_end(fm_frame *p, fm_status st);

/* Drawing in pixel coordinates: a filled box, a disk, a polyline through xy (n, 2), blended
 * once where it overlaps itself. Between fm_frame_clip(p, 1) and fm_frame_clip(p, 0) they
 * are clipped to the frame. */
void fm_frame_rect(fm_frame *p, double x, double y, double w, double h, fm_color c, double alpha);
void fm_frame_disk(fm_frame *p, double x, double y, double r, fm_color c, double alpha);
void fm_frame_polyline(fm_frame *p, const double *xy, int n, double width, fm_color c,
                       double alpha);
void fm_frame_clip(fm_frame *p, int clip);

/* Text in the plots' font at em size `size` pixels: its width, and drawn with its baseline
 * from (x, y); up: turned a quarter anticlockwise, reading upwards. */
double fm_frame_text_width(fm_frame *p, const char *t, double size);
void fm_frame_text(fm_frame *p, double x, double y, const char *t, double size, fm_color c,
                   int up);

/* Places the frame and ticks for the limits (made equal per unit as f asks): margins for
 * the title, the tick labels and the axis labels. */
void fm_frame_layout(fm_frame *p, double xlo, double xhi, double ylo, double yhi, fm_fit f);

/* Grid lines at the ticks (behind the data), then the frame, ticks, title and labels. */
void fm_frame_grid(fm_frame *p);
void fm_frame_axes(fm_frame *p);
void fm_frame_bar(fm_frame *p);
void fm_frame_legend(fm_frame *p, const fm_legend_item *items, int n);

/* Data to pixel coordinates. */
double fm_frame_x(const fm_frame *p, double v);
double fm_frame_y(const fm_frame *p, double v);

void fm_frame_info(const fm_frame *p, fm_plot_info *info, long skipped);

/* Data ranges: empty, grown by a value, and the given limits or the data's with a margin. */
fm_range fm_range_empty(void);
void fm_range_add(fm_range *r, double v);
void fm_range_limits(double given_lo, double given_hi, fm_range r, double *lo, double *hi);

/* How the axes fit the frame: equal units on both (by the way `equal` says) unless the
 * options say otherwise, a point plot's limits are given, or the ranges differ by more
 * than FM_COMMENSURABLE times (then each axis spans its own data and the frame notes that
 * x and y are drawn to different scales). */
#define FM_COMMENSURABLE 10.0
fm_fit fm_frame_fit(fm_frame *p, double xlo, double xhi, double ylo, double yhi, fm_fit equal);

/* Columns cx, cy of dim-dimensional points (cx == cy: 0 and 1); set >= 0 names a set. */
fm_status fm_frame_check_columns(const char *what, int set, int dim, int *cx, int *cy);

/* Dots fade as they crowd: 0.8 at 1000, 0.36 at 5000. */
double fm_frame_crowd_alpha(long n);

#endif
