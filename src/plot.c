/* The plots a flow-matching run wants, each in a frame of plot_frame.c: samples over data,
 * a density as a heat map, trajectories, the loss curve, and images in a grid. */
#include "fmcl/plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "plot_frame.h"

fm_status fm_plot_scatter(const fm_plot_opts *opts, const fm_plot_points *sets, int n_sets,
                          fm_figure *out, fm_plot_info *info) {
  const char *what = "scatter plot";
  memset(out, 0, sizeof *out);
  if (!sets || n_sets <= 0)
    return fm_fail(FM_ERR_INVALID, "%s: no point sets (n_sets = %d); pass at least one", what, n_sets);
  fm_range rx = fm_range_empty(), ry = fm_range_empty();
  long skipped = 0, total = 0;
  fm_status st;
  for (int k = 0; k < n_sets; k++) {
    const fm_plot_points *q = &sets[k];
    int cx = q->cx, cy = q->cy;
    if (q->n <= 0)
      return fm_fail(FM_ERR_INVALID, "%s: set %d: n must be positive, got %d", what, k, q->n);
    if (!q->x) return fm_fail(FM_ERR_INVALID, "%s: set %d: no points (x is NULL)", what, k);
    if ((st = fm_frame_check_columns(what, k, q->dim, &cx, &cy)) != FM_OK) return st;
    for (int i = 0; i < q->n; i++) {
      double x = q->x[(size_t)i * q->dim + cx], y = q->x[(size_t)i * q->dim + cy];
      if (isfinite(x) && isfinite(y)) fm_range_add(&rx, x), fm_range_add(&ry, y);
      else skipped++;
    }
    total += q->n;
  }
  if (skipped == total)
    return fm_fail(FM_ERR_NUMERIC, "%s: none of the %ld points is finite; nothing to draw (did "
                   "sampling diverge?)", what, total);
  fm_frame p;
  FM_TRY(fm_frame_begin(&p, what, opts, out));
  double xlo, xhi, ylo, yhi;
  fm_range_limits(p.o->xmin, p.o->xmax, rx, &xlo, &xhi);
  fm_range_limits(p.o->ymin, p.o->ymax, ry, &ylo, &yhi);
  fm_frame_layout(&p, xlo, xhi, ylo, yhi, fm_frame_fit(&p, xlo, xhi, ylo, yhi, FM_FIT_EXPAND));
  fm_frame_grid(&p);
  fm_legend_item items[FM_MAX_LEGEND];
  int n_items = 0;
  for (int k = 0; k < n_sets; k++) {
    const fm_plot_points *q = &sets[k];
    int cx = q->cx, cy = q->cy;
    (void)fm_frame_check_columns(what, k, q->dim, &cx, &cy); /* checked above; resolves cx == cy */
    fm_color color = q->color ? q->color : fm_palette[k % 6];
    double alpha = q->alpha > 0 ? q->alpha : fm_frame_crowd_alpha(q->n);
    double r = (q->radius > 0 ? q->radius : 1.6) * p.s;
    fm_frame_clip(&p, 1);
    for (int i = 0; i < q->n; i++)
      fm_frame_disk(&p, fm_frame_x(&p, q->x[(size_t)i * q->dim + cx]),
                    fm_frame_y(&p, q->x[(size_t)i * q->dim + cy]), r, color, alpha);
    fm_frame_clip(&p, 0);
    if (q->label && n_items < FM_MAX_LEGEND) items[n_items++] = (fm_legend_item){color, 0, q->label};
  }
  fm_frame_legend(&p, items, n_items);
  fm_frame_axes(&p);
  fm_frame_info(&p, info, skipped);
fail:
  return fm_frame_end(&p, st);
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

fm_status fm_plot_heatmap(const fm_plot_opts *opts, const fm_plot_grid *grid, fm_figure *out,
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
  fm_range rv = fm_range_empty();
  long skipped = 0;
  for (size_t i = 0; i < cells; i++) {
    if (isfinite(g->v[i])) fm_range_add(&rv, g->v[i]);
    else skipped++;
  }
  if ((size_t)skipped == cells)
    return fm_fail(FM_ERR_NUMERIC, "%s: none of the %zu cells is finite; nothing to draw", what,
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
  fm_frame p;
  fm_status st;
  FM_TRY(fm_frame_begin(&p, what, opts, out));
  p.bar = 1, p.cb.lo = vlo, p.cb.hi = vhi, p.bar_label = g->label;
  fm_fit f = fm_frame_fit(&p, g->xmin, g->xmax, g->ymin, g->ymax, FM_FIT_SHRINK);
  fm_frame_layout(&p, g->xmin, g->xmax, g->ymin, g->ymax, f);
  /* One colour per pixel of the frame, an image in the figure (embedded in SVG and PDF). */
  cairo_surface_t *raster = cairo_image_surface_create(CAIRO_FORMAT_RGB24, p.right - p.left + 1,
                                                      p.bottom - p.top + 1);
  if (cairo_surface_status(raster) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(raster);
    st = fm_fail(FM_ERR_NOMEM, "%s: out of host memory for the cells", what);
    goto fail;
  }
  uint8_t *data = cairo_image_surface_get_data(raster);
  int stride = cairo_image_surface_get_stride(raster);
  for (int j = p.top; j <= p.bottom; j++) {
    double v = p.y.lo + (double)(p.bottom - j) / (p.bottom - p.top) * (p.y.hi - p.y.lo);
    for (int i = p.left; i <= p.right; i++) {
      double u = p.x.lo + (double)(i - p.left) / (p.right - p.left) * (p.x.hi - p.x.lo);
      double val = grid_at(g, u, v);
      ((uint32_t *)(data + (size_t)(j - p.top) * stride))[i - p.left] =
          isfinite(val) ? fm_colormap_viridis((val - vlo) / (vhi - vlo)) : MISSING;
    }
  }
  cairo_surface_mark_dirty(raster);
  cairo_set_source_surface(p.cr, raster, p.left, p.top);
  cairo_paint(p.cr);
  cairo_surface_destroy(raster);
  fm_frame_bar(&p);
  fm_frame_axes(&p);
  fm_frame_info(&p, info, skipped);
fail:
  return fm_frame_end(&p, st);
}

static int path_finite(const float *x, int steps, int n, int dim, int cx, int cy, int i) {
  for (int t = 0; t < steps; t++) {
    const float *q = x + ((size_t)t * n + i) * dim;
    if (!isfinite(q[cx]) || !isfinite(q[cy])) return 0;
  }
  return 1;
}

fm_status fm_plot_trajectories(const fm_plot_opts *opts, const float *x, int steps, int n,
                               int dim, int cx, int cy, fm_figure *out, fm_plot_info *info) {
  const char *what = "trajectory plot";
  memset(out, 0, sizeof *out);
  if (!x) return fm_fail(FM_ERR_INVALID, "%s: no points (x is NULL)", what);
  if (steps < 2)
    return fm_fail(FM_ERR_INVALID, "%s: steps must be at least 2 (start and end), got %d", what,
                   steps);
  if (n <= 0) return fm_fail(FM_ERR_INVALID, "%s: n must be positive, got %d", what, n);
  fm_status st = fm_frame_check_columns(what, -1, dim, &cx, &cy);
  if (st != FM_OK) return st;
  fm_range rx = fm_range_empty(), ry = fm_range_empty();
  long skipped = 0;
  for (int i = 0; i < n; i++) {
    if (!path_finite(x, steps, n, dim, cx, cy, i)) {
      skipped++;
      continue;
    }
    for (int t = 0; t < steps; t++) {
      const float *q = x + ((size_t)t * n + i) * dim;
      fm_range_add(&rx, q[cx]), fm_range_add(&ry, q[cy]);
    }
  }
  if (skipped == n)
    return fm_fail(FM_ERR_NUMERIC, "%s: none of the %d trajectories is finite all the way; "
                   "nothing to draw (did sampling diverge?)", what, n);
  fm_frame p;
  double *xy = NULL;
  FM_TRY(fm_frame_begin(&p, what, opts, out));
  double xlo, xhi, ylo, yhi;
  fm_range_limits(p.o->xmin, p.o->xmax, rx, &xlo, &xhi);
  fm_range_limits(p.o->ymin, p.o->ymax, ry, &ylo, &yhi);
  fm_frame_layout(&p, xlo, xhi, ylo, yhi, fm_frame_fit(&p, xlo, xhi, ylo, yhi, FM_FIT_EXPAND));
  fm_frame_grid(&p);
  xy = malloc((size_t)steps * 2 * sizeof *xy);
  if (!xy) {
    st = fm_fail(FM_ERR_NOMEM, "%s: out of host memory for a path of %d steps", what, steps);
    goto fail;
  }
  fm_frame_clip(&p, 1);
  double line_alpha = sqrt(50.0 / n);
  line_alpha = line_alpha < 0.12 ? 0.12 : line_alpha > 0.8 ? 0.8 : line_alpha;
  for (int i = 0; i < n; i++) {
    if (!path_finite(x, steps, n, dim, cx, cy, i)) continue;
    for (int t = 0; t < steps; t++) {
      const float *q = x + ((size_t)t * n + i) * dim;
      xy[2 * t] = fm_frame_x(&p, q[cx]), xy[2 * t + 1] = fm_frame_y(&p, q[cy]);
    }
    fm_frame_polyline(&p, xy, steps, 1.3 * p.s, PATH, line_alpha);
  }
  static const fm_color ends[2] = {FM_COLOR_ORANGE, FM_COLOR_BLUE};
  for (int e = 0; e < 2; e++) {
    const float *snap = x + (size_t)(e ? steps - 1 : 0) * n * dim;
    for (int i = 0; i < n; i++) {
      const float *q = snap + (size_t)i * dim;
      if (path_finite(x, steps, n, dim, cx, cy, i))
        fm_frame_disk(&p, fm_frame_x(&p, q[cx]), fm_frame_y(&p, q[cy]), 1.8 * p.s, ends[e],
                      fm_frame_crowd_alpha(n));
    }
  }
  fm_frame_clip(&p, 0);
  fm_legend_item items[2] = {{ends[0], 0, p.o->start_label ? p.o->start_label : "noise, t=0"},
                             {ends[1], 0, "samples, t=1"}};
  fm_frame_legend(&p, items, 2);
  fm_frame_axes(&p);
  fm_frame_info(&p, info, skipped);
fail:
  free(xy);
  return fm_frame_end(&p, st);
}

fm_status fm_plot_lines(const fm_plot_opts *opts, const fm_plot_series *series, int n_series,
                        fm_figure *out, fm_plot_info *info) {
  const char *what = "line plot";
  memset(out, 0, sizeof *out);
  if (!series || n_series <= 0)
    return fm_fail(FM_ERR_INVALID, "%s: no series (n_series = %d); pass at least one", what, n_series);
  int log_y = opts && opts->log_y;
  fm_range rx = fm_range_empty(), ry = fm_range_empty();
  long skipped = 0, total = 0;
  for (int k = 0; k < n_series; k++) {
    const fm_plot_series *q = &series[k];
    if (q->n <= 0)
      return fm_fail(FM_ERR_INVALID, "%s: series %d: n must be positive, got %d", what, k, q->n);
    if (!q->y) return fm_fail(FM_ERR_INVALID, "%s: series %d: no values (y is NULL)", what, k);
    for (int i = 0; i < q->n; i++) {
      double x = q->x ? q->x[i] : i, y = q->y[i];
      if (isfinite(x) && isfinite(y) && (!log_y || y > 0))
        fm_range_add(&rx, x), fm_range_add(&ry, log_y ? log10(y) : y);
      else skipped++;
    }
    total += q->n;
  }
  if (skipped == total)
    return fm_fail(FM_ERR_NUMERIC, "%s: none of the %ld points is finite%s; nothing to draw", what,
                   total, log_y ? " and positive (the y axis is logarithmic)" : "");
  fm_frame p;
  double *xy = NULL;
  fm_status st;
  FM_TRY(fm_frame_begin(&p, what, opts, out));
  const fm_plot_opts *o = p.o;
  p.y.log = log_y;
  double xlo, xhi, ylo, yhi;
  fm_range_limits(o->xmin, o->xmax, rx, &xlo, &xhi);
  if (log_y && o->ymin != o->ymax) ylo = log10(o->ymin), yhi = log10(o->ymax);
  else fm_range_limits(o->ymin, o->ymax, ry, &ylo, &yhi);
  fm_frame_layout(&p, xlo, xhi, ylo, yhi, o->aspect == FM_ASPECT_EQUAL ? FM_FIT_EXPAND : FM_FIT_FREE);
  fm_frame_grid(&p);
  fm_legend_item items[FM_MAX_LEGEND];
  int n_items = 0;
  fm_frame_clip(&p, 1);
  for (int k = 0; k < n_series; k++) {
    const fm_plot_series *q = &series[k];
    fm_color c = q->color ? q->color : fm_palette[(k + 1) % 6];
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
        xy[2 * run] = fm_frame_x(&p, x), xy[2 * run + 1] = fm_frame_y(&p, y);
        run++;
      } else if (run > 0) {
        fm_frame_polyline(&p, xy, run, width, c, alpha);
        run = 0;
      }
    }
    free(xy);
    xy = NULL;
    if (q->label && n_items < FM_MAX_LEGEND) items[n_items++] = (fm_legend_item){c, 1, q->label};
  }
  fm_frame_clip(&p, 0);
  fm_frame_legend(&p, items, n_items);
  fm_frame_axes(&p);
  fm_frame_info(&p, info, skipped);
fail:
  free(xy);
  return fm_frame_end(&p, st);
}

fm_status fm_plot_images(const fm_plot_opts *opts, const fm_plot_image_grid *grid,
                         fm_figure *out) {
  const char *what = "image grid";
  const fm_plot_image_grid *g = grid;
  memset(out, 0, sizeof *out);
  if (!g || !g->x) return fm_fail(FM_ERR_INVALID, "%s: no images (x is NULL)", what);
  if (g->rows < 1 || g->cols < 1 || g->rows > 64 || g->cols > 64 || g->height < 1 ||
      g->width < 1 || g->height > 1024 || g->width > 1024)
    return fm_fail(FM_ERR_INVALID, "%s: %d x %d images of %d x %d pixels; rows and columns "
                   "must be from 1 to 64, an image's sides from 1 to 1024", what, g->rows,
                   g->cols, g->height, g->width);
  if (!(isfinite(g->vmin) && isfinite(g->vmax) && g->vmin < g->vmax))
    return fm_fail(FM_ERR_INVALID, "%s: values [%g, %g]; vmin must be below vmax, both finite",
                   what, g->vmin, g->vmax);
  /* The labels' room, measured in a frame of the default size, then the figure to fit. */
  fm_plot_opts o = opts ? *opts : (fm_plot_opts){0};
  o.width = o.height = 0;
  fm_frame p;
  fm_status st;
  FM_TRY(fm_frame_begin(&p, what, &o, out));
  double label_w = 0;
  for (int r = 0; g->row_labels && r < g->rows; r++)
    label_w = fmax(label_w, fm_frame_text_width(&p, g->row_labels[r], FONT));
  fm_frame_end(&p, FM_ERR_INVALID); /* measured only */
  int big = g->height > g->width ? g->height : g->width, zoom = big < 56 ? 56 / big : 1;
  int cw = g->width * zoom, ch = g->height * zoom, gap = 4;
  int top = (int)ceil(PAD + (o.title ? 1.17 * TITLE_FONT + TITLE_GAP : 0) +
                      (g->col_labels ? LINE_H + gap : 0));
  int left = (int)ceil(PAD + (g->row_labels ? label_w + LABEL_GAP : 0));
  o.width = left + g->cols * (cw + gap) - gap + PAD;
  o.height = top + g->rows * (ch + gap) - gap + PAD;
  if (o.width > 8192 || o.height > 8192)
    return fm_fail(FM_ERR_INVALID, "%s: %d x %d images of %d x %d pixels need a %d x %d figure, "
                   "more than 8192 pixels a side; draw fewer or smaller ones", what, g->rows,
                   g->cols, g->height, g->width, o.width, o.height);
  o.width = o.width < 160 ? 160 : o.width;
  o.height = o.height < 160 ? 160 : o.height;
  FM_TRY(fm_frame_begin(&p, what, &o, out));
  size_t area = (size_t)g->height * g->width;
  for (int k = 0; k < g->rows * g->cols; k++) {
    if (g->present && !g->present[k]) continue;
    /* A surface per image: the recording keeps each one as it was painted. */
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, g->width, g->height);
    if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
      cairo_surface_destroy(img);
      st = fm_fail(FM_ERR_NOMEM, "%s: out of host memory for an image", what);
      goto fail;
    }
    uint32_t *px = (uint32_t *)cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img) / 4;
    const float *v = g->x + (size_t)k * area;
    for (size_t i = 0; i < area; i++) {
      double u = isfinite(v[i]) ? (v[i] - g->vmin) / (g->vmax - g->vmin) : 0;
      uint32_t grey = (uint32_t)(255 * (u < 0 ? 0 : u > 1 ? 1 : u) + 0.5);
      px[(i / g->width) * stride + i % g->width] = isfinite(v[i]) ? grey * 0x010101u : 0xFF0000u;
    }
    cairo_surface_mark_dirty(img);
    cairo_save(p.cr);
    cairo_translate(p.cr, left + (k % g->cols) * (cw + gap), top + (k / g->cols) * (ch + gap));
    cairo_scale(p.cr, zoom, zoom);
    cairo_set_source_surface(p.cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(p.cr), CAIRO_FILTER_NEAREST); /* pixels, crisp */
    cairo_paint(p.cr);
    cairo_restore(p.cr);
    cairo_surface_destroy(img);
  }
  for (int r = 0; g->row_labels && r < g->rows; r++) {
    const char *t = g->row_labels[r];
    fm_frame_text(&p, left - LABEL_GAP - fm_frame_text_width(&p, t, FONT),
                  top + r * (ch + gap) + 0.5 * (ch + CAP_H), t, FONT, INK, 0);
  }
  for (int c = 0; g->col_labels && c < g->cols; c++) {
    const char *t = g->col_labels[c];
    fm_frame_text(&p, left + c * (cw + gap) + 0.5 * (cw - fm_frame_text_width(&p, t, FONT)),
                  top - gap - (LINE_H - 0.93 * FONT), t, FONT, INK, 0);
  }
  if (o.title) {
    double w = fm_frame_text_width(&p, o.title, TITLE_FONT);
    fm_frame_text(&p, fmax(PAD, 0.5 * (o.width - w)), PAD + 0.93 * TITLE_FONT, o.title,
                  TITLE_FONT, INK, 0);
  }
fail:
  return fm_frame_end(&p, st);
}
