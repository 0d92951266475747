/* Plots drawn with cairo and written as PNG, SVG or PDF: samples over the data, a density
 * as a heat map, trajectories from noise to data, the loss curve, grids of images, and the
 * axes' ticks and colour map they are made of. */
#ifndef FMCL_PLOT_H
#define FMCL_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "fmcl/status.h"
#include "fmcl/types.h"

/* A colour, 0xRRGGBB. */
typedef uint32_t fm_color;

/* ---- Figures ---- */

/* A drawn plot, kept as cairo drawing operations so that it can be written as pixels or as
 * vectors. Made by the plot functions below; free with fm_figure_free. */
typedef struct fm_figure {
  void *recording; /* a cairo recording surface; NULL when empty */
  int width, height; /* pixels (PNG) or points (SVG, PDF) */
} fm_figure;

void fm_figure_free(fm_figure *fig);

/* Writes fig as a file of the format (fmcl/types.h; fm_plot_format_names spells them): to
 * "<path>.tmp", then renamed over path, so a failed write leaves no file and an older one
 * unchanged. */
fm_status fm_figure_write(const fm_figure *fig, const char *path, fm_plot_format format);

/* 8-bit RGB pixels, rows top to bottom. Plain data: free with fm_image_free. */
typedef struct fm_image {
  uint8_t *rgb; /* (height, width, 3) */
  int width, height;
} fm_image;

/* The figure's pixels, as its PNG holds them. */
fm_status fm_figure_pixels(const fm_figure *fig, fm_image *out);
void fm_image_free(fm_image *img);

/* Text is set in FM_PLOT_FONT. NULL when fontconfig finds it; else what the plots' text is
 * drawn in instead and how to install the font (the plots are written all the same). */
#define FM_PLOT_FONT "DejaVu Sans"
const char *fm_plot_font_problem(void);

/* ---- Axes ---- */

/* At most max_ticks values in [lo, hi], 1, 2 or 5 x 10^k apart, the closest spacing that
 * fits; *step gets the spacing. Returns the count; 0 when lo >= hi or either is not finite. */
int fm_ticks_linear(double lo, double hi, int max_ticks, double *ticks, double *step);

/* At most max_ticks values in [lo, hi] (0 < lo < hi) for a logarithmic axis: powers of ten
 * (every k-th when there are too many); 1, 2, 5 x 10^k when fewer than three powers fall
 * inside; linear ticks when even those are fewer than three. Returns the count. */
int fm_ticks_log(double lo, double hi, int max_ticks, double *ticks);

/* A tick value, compactly: "-2", "0.5", "1000", "1e-3", "2.5e5". step is the ticks'
 * spacing and sets the decimals, the same for every label of an axis ("0.0", "0.5");
 * 0 formats the value alone (log axes). */
void fm_tick_label(double value, double step, char *buf, size_t size);

/* A perceptual colour map close to matplotlib's viridis: t = 0 dark violet, t = 1 yellow
 * (clamped to [0, 1]). */
fm_color fm_colormap_viridis(double t);

/* ---- Plots ---- */

#define FM_COLOR_GREY 0x7F7F7Fu
#define FM_COLOR_BLUE 0x1F77B4u
#define FM_COLOR_ORANGE 0xFF7F0Eu
#define FM_COLOR_GREEN 0x2CA02Cu
#define FM_COLOR_RED 0xD62728u
#define FM_COLOR_PURPLE 0x9467BDu

typedef enum fm_aspect {
  FM_ASPECT_AUTO = 0, /* equal for point plots whose limits come from the data, unless their
                         ranges differ more than 10 times (the plot then says so); else free */
  FM_ASPECT_EQUAL,    /* one unit is as long on x as on y */
  FM_ASPECT_FREE      /* each axis fills its side */
} fm_aspect;

typedef enum fm_legend {
  FM_LEGEND_AUTO = 0, /* when an item has a label: in the corner that hides the least */
  FM_LEGEND_NONE,
  FM_LEGEND_TOP_LEFT,
  FM_LEGEND_TOP_RIGHT,
  FM_LEGEND_BOTTOM_LEFT,
  FM_LEGEND_BOTTOM_RIGHT
} fm_legend;

/* What every plot takes. All zero (or a NULL pointer to it) is a plain 640 x 480 plot. */
typedef struct fm_plot_opts {
  int width, height;                  /* pixels, 160 to 8192; 0: 640 x 480 */
  const char *title, *xlabel, *ylabel; /* NULL: none */
  double xmin, xmax, ymin, ymax;      /* limits; xmin == xmax (or ymin == ymax): from the
                                         data with a 5% margin */
  int log_y;                          /* line plots: logarithmic y (values <= 0 skipped) */
  fm_aspect aspect;
  fm_legend legend;
  const char *start_label;            /* trajectories: the legend of the starts; NULL:
                                         "noise, t=0" */
} fm_plot_opts;

/* Where a plot put its axes, and what it left out. The data limits fall on the centres of
 * the frame's pixel rows and columns. */
typedef struct fm_plot_info {
  int left, top, right, bottom;  /* the frame's pixel columns and rows */
  double xmin, xmax, ymin, ymax; /* data limits (on a log axis, of log10 y) */
  int log_y;
  long skipped; /* points, cells or trajectories left out for non-finite values */
  int equal_scale; /* one unit is as long on x as on y */
} fm_plot_info;

/* The pixel position of data point (x, y) in a plot (x, y as given, not log10). */
void fm_plot_to_pixel(const fm_plot_info *info, double x, double y, double *px, double *py);

/* Each plot function makes *out (free it with fm_figure_free; after a failure it is empty)
 * and, when info is not NULL, fills it. Non-finite values are skipped, not refused: a
 * diverged sample should not cost the picture of the others. The count goes to
 * fm_plot_info.skipped; a plot left with nothing to show is an error (FM_ERR_NUMERIC). */

/* A point set for a scatter plot: x is (n, dim); columns cx and cy go on the axes
 * (cx == cy, as when both are 0: columns 0 and 1). Zero style fields take defaults. */
typedef struct fm_plot_points {
  const float *x;
  int n, dim;
  int cx, cy;
  fm_color color;    /* 0: the palette colour for the set's index (grey, blue, orange,
                        green, red, purple); black is 0x010101 */
  float alpha;       /* 0: lower for more points (0.8 at 1000, 0.36 at 5000) */
  float radius;      /* of each disk, pixels; 0: 1.6 */
  const char *label; /* legend entry; NULL: none */
} fm_plot_points;

fm_status fm_plot_scatter(const fm_plot_opts *opts, const fm_plot_points *sets, int n_sets,
                          fm_figure *out, fm_plot_info *info);

/* Values on a grid for a heat map: v is (ny, nx), v[j * nx + i] the value at the centre
 * of cell (i, j), which spans x in xmin + [i, i + 1] (xmax - xmin) / nx, row 0 at ymin.
 * Pixels between cell centres are interpolated bilinearly; non-finite cells show grey. */
typedef struct fm_plot_grid {
  const float *v;
  int nx, ny;
  double xmin, xmax, ymin, ymax;
  double vmin, vmax; /* colour scale; vmin == vmax: the finite values' range */
  const char *label; /* over the colour bar; NULL: none */
} fm_plot_grid;

/* The grid with the viridis colour map and a colour bar; the axes span the grid (the
 * limits in opts are not used) and are equal unless opts->aspect is FM_ASPECT_FREE or the
 * grid's sides differ more than 10 times (as for points). */
fm_status fm_plot_heatmap(const fm_plot_opts *opts, const fm_plot_grid *grid, fm_figure *out,
                          fm_plot_info *info);

/* Trajectories: x is (steps, n, dim), point i at snapshot s at x[(s * n + i) * dim];
 * columns cx, cy as for fm_plot_points. Each point's path is a light polyline, its start
 * (s = 0, noise) an orange dot and its end (s = steps - 1, data) a blue one. A path with
 * a non-finite value is skipped whole. steps >= 2. */
fm_status fm_plot_trajectories(const fm_plot_opts *opts, const float *x, int steps, int n,
                               int dim, int cx, int cy, fm_figure *out, fm_plot_info *info);

/* A series for a line plot: y is (n), x is (n) or NULL for 0, 1, ..., n - 1. Lines break
 * at skipped points. */
typedef struct fm_plot_series {
  const double *x, *y;
  int n;
  fm_color color;    /* 0: the palette colour for the series' index, from blue */
  float alpha;       /* 0: 1 */
  float width;       /* pixels; 0: 1.5 */
  const char *label; /* legend entry; NULL: none */
} fm_plot_series;

fm_status fm_plot_lines(const fm_plot_opts *opts, const fm_plot_series *series, int n_series,
                        fm_figure *out, fm_plot_info *info);

/* Grey images in a grid: x is (rows * cols, height * width), image r * cols + c at row r,
 * column c, each row-major; NULL entries of `present` (rows * cols flags, or NULL: all)
 * leave their cell empty. Values from vmin (black) to vmax (white), clamped; a non-finite
 * pixel shows red. The figure's size follows from the grid (opts' width and height are not
 * used): each image magnified to about 56 pixels a side. */
typedef struct fm_plot_image_grid {
  const float *x;
  const unsigned char *present;
  int rows, cols, height, width;
  double vmin, vmax;
  const char *const *row_labels; /* (rows) left of each row, or NULL */
  const char *const *col_labels; /* (cols) over each column, or NULL */
} fm_plot_image_grid;

fm_status fm_plot_images(const fm_plot_opts *opts, const fm_plot_image_grid *grid,
                         fm_figure *out);

#endif
