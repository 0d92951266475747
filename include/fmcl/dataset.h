/* An experiment's points as its config describes them: the training and held-out splits
 * of a toy set or a data file, the standardization of the training split, and the source
 * distribution's points when the source is a data set. Every command that trains, samples
 * or measures a model loads its data here. */
#ifndef FMCL_DATASET_H
#define FMCL_DATASET_H

#include "fmcl/config.h"
#include "fmcl/data.h"

typedef struct fm_dataset {
  fm_points train;    /* in model units: standardized with data.standardize */
  fm_points test;     /* held-out points, in data units */
  fm_points source;   /* source points in model units; empty (x NULL) for N(0, I) */
  double *mean, *std; /* (dim) the training split's standardization, or NULL */
} fm_dataset;

/* Everything a training run needs. */
fm_status fm_dataset_load(const fm_config *cfg, fm_dataset *out);
void fm_dataset_free(fm_dataset *d);

/* The training and held-out points in data units (a toy set, or a data file shuffled and
 * split by data.test_fraction). */
fm_status fm_dataset_load_split(const fm_config *cfg, fm_points *train, fm_points *test);

/* The source points of source.name or source.path for data of dimension dim, standardized
 * with mean and std when they are not NULL; *source stays empty for N(0, I). */
fm_status fm_dataset_load_source(const fm_config *cfg, const double *mean, const double *std,
                                 int dim, fm_points *source);

/* The points a saved model is judged on (in data units): those of data_path, with their
 * labels from data.label_column when the model is class-conditional, or the held-out split
 * when data_path is NULL. */
fm_status fm_dataset_load_points(const fm_config *cfg, const char *data_path, fm_points *out);

#endif
