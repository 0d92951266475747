/* Figures: a plot's drawing kept as a cairo recording, replayed into a PNG, an SVG or a PDF
 * file or into pixels; and whether the plots' font is installed. */
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <fontconfig/fontconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fileio.h"
#include "internal.h"
#include "plot_frame.h"

fm_status fm_figure_start(fm_figure *fig, int width, int height, cairo_t **cr) {
  cairo_rectangle_t extent = {0, 0, width, height};
  cairo_surface_t *rec = cairo_recording_surface_create(CAIRO_CONTENT_COLOR, &extent);
  *cr = cairo_create(rec);
  cairo_surface_destroy(rec); /* *cr holds it */
  if (cairo_status(*cr) != CAIRO_STATUS_SUCCESS) {
    cairo_destroy(*cr);
    *cr = NULL;
    return fm_fail(FM_ERR_NOMEM, "cairo cannot start a %d x %d figure", width, height);
  }
  fig->recording = cairo_surface_reference(rec);
  fig->width = width, fig->height = height;
  cairo_select_font_face(*cr, FM_PLOT_FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_font_options_t *fo = cairo_font_options_create();
  /* Text as wide in every format. */
  cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
  cairo_set_font_options(*cr, fo);
  cairo_font_options_destroy(fo);
  return FM_OK;
}

void fm_figure_free(fm_figure *fig) {
  if (!fig) return;
  if (fig->recording) cairo_surface_destroy(fig->recording);
  memset(fig, 0, sizeof *fig);
}

/* Replays the figure onto target. */
static cairo_status_t replay(const fm_figure *fig, cairo_surface_t *target) {
  cairo_t *cr = cairo_create(target);
  cairo_set_source_surface(cr, fig->recording, 0, 0);
  cairo_paint(cr);
  cairo_status_t st = cairo_status(cr);
  cairo_destroy(cr);
  cairo_surface_flush(target);
  return st;
}

cairo_surface_t *fm_figure_raster(const fm_figure *fig) {
  cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, fig->width, fig->height);
  if (cairo_surface_status(img) == CAIRO_STATUS_SUCCESS && replay(fig, img) == CAIRO_STATUS_SUCCESS)
    return img;
  cairo_surface_destroy(img);
  return NULL;
}

fm_status fm_figure_pixels(const fm_figure *fig, fm_image *out) {
  memset(out, 0, sizeof *out);
  if (!fig || !fig->recording) return fm_fail(FM_ERR_INVALID, "figure: nothing drawn");
  cairo_surface_t *img = fm_figure_raster(fig);
  out->rgb = img ? malloc((size_t)fig->width * fig->height * 3) : NULL;
  if (!out->rgb) {
    if (img) cairo_surface_destroy(img);
    return fm_fail(FM_ERR_NOMEM, "figure: out of memory for %d x %d pixels", fig->width,
                   fig->height);
  }
  out->width = fig->width, out->height = fig->height;
  const uint8_t *data = cairo_image_surface_get_data(img);
  int stride = cairo_image_surface_get_stride(img);
  for (int y = 0; y < fig->height; y++)
    for (int x = 0; x < fig->width; x++) {
      uint32_t v = ((const uint32_t *)(data + (size_t)y * stride))[x];
      uint8_t *q = out->rgb + ((size_t)y * fig->width + x) * 3;
      q[0] = (uint8_t)(v >> 16), q[1] = (uint8_t)(v >> 8), q[2] = (uint8_t)v;
    }
  cairo_surface_destroy(img);
  return FM_OK;
}

void fm_image_free(fm_image *img) {
  if (!img) return;
  free(img->rgb);
  memset(img, 0, sizeof *img);
}

static cairo_status_t to_file(void *f, const unsigned char *data, unsigned int n) {
  return fwrite(data, 1, n, f) == n ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

fm_status fm_figure_write(const fm_figure *fig, const char *path, fm_plot_format format) {
  if (!fig || !fig->recording)
    return fm_fail(FM_ERR_INVALID, "%s: no figure to write (draw one with fm_plot_*)", path);
  fm_file file;
  fm_status opened = fm_file_begin(&file, path, "wb");
  if (opened != FM_OK) return opened;
  cairo_status_t st;
  if (format == FM_PLOT_PNG) {
    cairo_surface_t *img = fm_figure_raster(fig);
    st = img ? cairo_surface_write_to_png_stream(img, to_file, file.f) : CAIRO_STATUS_NO_MEMORY;
    if (img) cairo_surface_destroy(img);
  } else {
    unsigned refs = cairo_surface_get_reference_count(fig->recording);
    cairo_surface_t *page =
        format == FM_PLOT_SVG
            ? cairo_svg_surface_create_for_stream(to_file, file.f, fig->width, fig->height)
            : cairo_pdf_surface_create_for_stream(to_file, file.f, fig->width, fig->height);
    st = replay(fig, page);
    cairo_surface_finish(page);
    if (st == CAIRO_STATUS_SUCCESS) st = cairo_surface_status(page);
    cairo_surface_destroy(page);
    /* cairo 1.16's SVG surface takes a reference to a recording it paints and never drops
     * it (the figure would never be freed); later versions drop it themselves. */
    while (cairo_version() < CAIRO_VERSION_ENCODE(1, 17, 0) && format == FM_PLOT_SVG &&
           cairo_surface_get_reference_count(fig->recording) > refs)
      cairo_surface_destroy(fig->recording);
  }
  if (st != CAIRO_STATUS_SUCCESS) {
    fm_file_abort(&file);
    return fm_fail(st == CAIRO_STATUS_WRITE_ERROR ? FM_ERR_IO : FM_ERR_NOMEM,
                   "%s: cairo could not write the %s: %s%s; no file was left", path,
                   fm_plot_format_names[format], cairo_status_to_string(st),
                   st == CAIRO_STATUS_WRITE_ERROR ? " (is the disk full?)" : "");
  }
  return fm_file_commit(&file);
}

const char *fm_plot_font_problem(void) {
  static char problem[256];
  static int checked = 0;
  if (checked) return problem[0] ? problem : NULL;
  checked = 1;
  FcPattern *want = FcNameParse((const FcChar8 *)FM_PLOT_FONT), *got = NULL;
  FcChar8 *family = NULL;
  FcResult result;
  if (want && FcConfigSubstitute(NULL, want, FcMatchPattern)) {
    FcDefaultSubstitute(want);
    got = FcFontMatch(NULL, want, &result);
  }
  if (got && FcPatternGetString(got, FC_FAMILY, 0, &family) == FcResultMatch &&
      strcasecmp((const char *)family, FM_PLOT_FONT) == 0)
    problem[0] = '\0';
  else
    snprintf(problem, sizeof problem, "the plots' font, %s, is not installed; their text is "
             "drawn in %s%s (apt-get install fonts-dejavu-core)", FM_PLOT_FONT,
             family ? (const char *)family : "cairo's built-in font",
             family ? " instead" : "");
  if (got) FcPatternDestroy(got);
  if (want) FcPatternDestroy(want);
  return problem[0] ? problem : NULL;
}
