/* Reflow (rectified flow's iterated straightening) and distillation: a teacher carries
 * source points to data, and a new model trains on those fixed (x0, x1) pairs with the
 * straight path x_t = (1 - t) x0 + t x1 (the pairs coupling; distillation trains at t = 0
 * only, the one-step map). */
#ifndef FMCL_REFLOW_H
#define FMCL_REFLOW_H

#include "fmcl/checkpoint.h"
#include "fmcl/config.h"
#include "fmcl/dataset.h"
#include "fmcl/engine.h"
#include "fmcl/report.h"

/* The config of a reflow (distill 0) or a distillation (distill 1) of the teacher whose
 * checkpoint holds teacher_cfg: the teacher's config with reflow.teacher = checkpoint, the
 * pairs coupling on condot with sigma_min 0 and no noise around the path, named
 * <name>-reflow<k> or <name>-distill, and for distillation t = 0 and one Euler step to
 * sample; then the overrides, which may set any key but the path's. */
fm_status fm_reflow_config(const fm_config *teacher_cfg, const char *checkpoint, int distill,
                           const char *const *overrides, int n_overrides, fm_config *out);

/* Whether the teacher cfg->reflow.teacher can teach the model cfg describes for data of
 * dimension dim (a class for a conditional teacher, a teacher that has a flow, the same
 * model shape when reflow.init is teacher); checked before a run folder is claimed. */
fm_status fm_reflow_check_teacher(const fm_config *cfg, const fm_checkpoint *teacher, int dim);

/* The training set of a reflow: loads the teacher (cfg->reflow.teacher) onto e's device,
 * carries cfg->reflow.pairs source points (N(0, I), or the source set's, drawn from
 * (seed, FM_STREAM_REFLOW)) to data with reflow.solver, and puts the x1 in place of
 * data's training points (model units, with their classes) and the x0 into pair_x0, pair
 * by pair (data->source, the source of sampling, stays); the standardization becomes the
 * teacher's. With reflow.init teacher, student starts from the teacher's weights. */
fm_status fm_reflow_make_pairs(fm_engine *e, const fm_config *cfg, fm_dataset *data,
                               fm_points *pair_x0, fm_mlp *student, const fm_reporter *report,
                               fm_stop_flag *stop);

#endif
