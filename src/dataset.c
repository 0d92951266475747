/* Toy sets, Fashion-MNIST and data files turned into an experiment's splits. */
#include "fmcl/dataset.h"

#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "fmcl/datafile.h"
#include "fmcl/rng.h"
#include "internal.h"

#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist" /* dataset-fashion-mnist's */

/* The first `limit` images of a Fashion-MNIST part ("train" or "t10k") with their classes
 * as labels, pixels scaled from 0..255 to [-1, 1]. */
static fm_status fashion_mnist_part(const char *dir, const char *part, int limit,
                                    fm_points *out) {
  char images[1024], classes[1024];
  snprintf(images, sizeof images, "%s/%s-images-idx3-ubyte.gz", dir, part);
  snprintf(classes, sizeof classes, "%s/%s-labels-idx1-ubyte.gz", dir, part);
  for (int k = 0; k < 2; k++)
    if (!fm_path_exists(k ? classes : images))
      return fm_fail(FM_ERR_CONFIG, "data.name %s: %s is missing; install Debian's "
                     "dataset-fashion-mnist (sudo apt-get install dataset-fashion-mnist, or "
                     "tools/setup.sh EXP.json for a config that uses it), or set "
                     "FMCL_FASHION_MNIST_DIR to a folder holding its four IDX files",
                     FM_FASHION_MNIST, k ? classes : images);
  fm_points labels = {0};
  fm_status st = fm_datafile_load(images, FM_FORMAT_IDX, NULL, out);
  if (st == FM_OK) st = fm_datafile_load(classes, FM_FORMAT_IDX, NULL, &labels);
  if (st == FM_OK && (labels.n != out->n || labels.dim != 1))
    st = fm_fail(FM_ERR_FORMAT, "data.name %s: %s holds %d x %d values for the %d images of "
                 "%s; it should hold one class per image", FM_FASHION_MNIST, classes, labels.n,
                 labels.dim, out->n, images);
  for (int i = 0; st == FM_OK && i < out->n; i++) {
    float c = labels.x[i];
    if (!(c >= 0 && c <= 9 && c == (int)c))
      st = fm_fail(FM_ERR_FORMAT, "data.name %s: %s: image %d has class %g; classes are 0 "
                   "to 9", FM_FASHION_MNIST, classes, i, c);
    else out->label[i] = (int)c;
  }
  fm_points_free(&labels);
  if (st != FM_OK) {
    fm_points_free(out);
    return st;
  }
  if (limit < out->n) out->n = limit; /* the rest stays allocated until the points are freed */
  for (size_t i = 0; i < (size_t)out->n * out->dim; i++) out->x[i] = out->x[i] / 127.5f - 1.0f;
  return FM_OK;
}

fm_status fm_dataset_load_split(const fm_config *cfg, fm_points *train, fm_points *test) {
  fm_status st = FM_OK;
  fm_points all = {0};
  memset(train, 0, sizeof *train);
  memset(test, 0, sizeof *test);
  if (!cfg->data.path[0] && strcmp(cfg->data.name, FM_FASHION_MNIST) == 0) {
    const char *dir = getenv("FMCL_FASHION_MNIST_DIR");
    dir = dir && dir[0] ? dir : FASHION_MNIST_DIR;
    FM_TRY(fashion_mnist_part(dir, "train", cfg->data.n_train, train));
    FM_TRY(fashion_mnist_part(dir, "t10k", cfg->data.n_test, test));
    if (test->dim != train->dim) {
      st = fm_fail(FM_ERR_FORMAT, "data.name %s: the training images in %s have %d pixels, "
                   "the test images %d; the folder mixes two data sets", FM_FASHION_MNIST, dir,
                   train->dim, test->dim);
      goto fail;
    }
    return FM_OK;
  }
  if (!cfg->data.path[0]) {
    FM_TRY(fm_toy_generate(cfg->data.name, cfg->seed, FM_STREAM_DATA_TRAIN, cfg->data.n_train,
                           train));
    FM_TRY(fm_toy_generate(cfg->data.name, cfg->seed, FM_STREAM_DATA_TEST, cfg->data.n_test,
                           test));
    return FM_OK;
  }
  FM_TRY(fm_datafile_load(cfg->data.path, cfg->data.format, cfg->data.key, &all));
  if (cfg->data.label_column >= 0)
    FM_TRY(fm_datafile_take_labels(&all, cfg->data.label_column, cfg->data.path));
  st = fm_points_split(&all, cfg->data.test_fraction, cfg->seed, train, test);
  if (st != FM_OK) fm_fail_context(st, "data file %s: ", cfg->data.path);
fail:
  fm_points_free(&all);
  if (st != FM_OK) {
    fm_points_free(train);
    fm_points_free(test);
  }
  return st;
}

fm_status fm_dataset_load_source(const fm_config *cfg, const double *mean, const double *std,
                                 int dim, fm_points *source) {
  fm_status st = FM_OK;
  memset(source, 0, sizeof *source);
  if (cfg->source.name[0])
    st = fm_toy_generate(cfg->source.name, cfg->seed, FM_STREAM_SOURCE_DATA, cfg->source.n, source);
  else if (cfg->source.path[0])
    st = fm_datafile_load(cfg->source.path, FM_FORMAT_AUTO, NULL, source);
  else
    return FM_OK;
  if (st != FM_OK) return st;
  if (source->dim != dim) {
    st = fm_fail(FM_ERR_CONFIG, "the source (%s) has dimension %d, the data %d; a source needs "
                 "the data's dimension", cfg->source.name[0] ? cfg->source.name : cfg->source.path,
                 source->dim, dim);
    fm_points_free(source);
    return st;
  }
  if (mean) fm_points_standardize(source->x, source->n, dim, mean, std);
  return FM_OK;
}

fm_status fm_dataset_load(const fm_config *cfg, fm_dataset *out) {
  fm_status st = FM_OK;
  memset(out, 0, sizeof *out);
  FM_TRY(fm_dataset_load_split(cfg, &out->train, &out->test));
  int h = cfg->output.image_shape[0], w = cfg->output.image_shape[1];
  if (cfg->output.n_image_shape == 2 && h * w != out->train.dim) {
    st = fm_fail(FM_ERR_CONFIG, "config: output.image_shape: %d x %d is %d pixels, the data "
                 "has %d values a point; set the images' shape, or [] for points", h, w, h * w,
                 out->train.dim);
    goto fail;
  }
  if (cfg->data.standardize) {
    int dim = out->train.dim;
    out->mean = malloc((size_t)dim * sizeof *out->mean);
    out->std = malloc((size_t)dim * sizeof *out->std);
    if (!out->mean || !out->std) {
      st = fm_fail(FM_ERR_NOMEM, "out of host memory");
      goto fail;
    }
    FM_TRY(fm_points_stats(&out->train, out->mean, out->std));
    fm_points_standardize(out->train.x, out->train.n, dim, out->mean, out->std);
  }
  FM_TRY(fm_dataset_load_source(cfg, out->mean, out->std, out->train.dim, &out->source));
  return FM_OK;
fail:
  fm_dataset_free(out);
  return st;
}

void fm_dataset_free(fm_dataset *d) {
  if (!d) return;
  fm_points_free(&d->train);
  fm_points_free(&d->test);
  fm_points_free(&d->source);
  free(d->mean);
  free(d->std);
  memset(d, 0, sizeof *d);
}

fm_status fm_dataset_load_points(const fm_config *cfg, const char *data_path, fm_points *out) {
  fm_status st = FM_OK;
  fm_points unused = {0};
  if (data_path) {
    FM_TRY(fm_datafile_load(data_path, FM_FORMAT_AUTO, cfg->data.key, out));
    if (cfg->model.classes > 0) {
      if (cfg->data.label_column < 0) {
        st = fm_fail(FM_ERR_CONFIG, "%s: the model is class-conditional, so the points need "
                     "their classes: --set data.label_column=N names the column", data_path);
        goto fail;
      }
      FM_TRY(fm_datafile_take_labels(out, cfg->data.label_column, data_path));
    }
    return FM_OK;
  }
  FM_TRY(fm_dataset_load_split(cfg, &unused, out));
  if (out->n == 0) {
    st = fm_fail(FM_ERR_CONFIG, "the run holds out no points (data.test_fraction 0); give a "
                 "data file (--data FILE)");
    goto fail;
  }
  fm_points_free(&unused);
  return FM_OK;
fail:
  fm_points_free(&unused);
  fm_points_free(out);
  return st;
}
