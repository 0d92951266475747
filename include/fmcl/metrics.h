/* Sample-quality metrics on the host, in double precision: the exact 2-Wasserstein
 * distance through a linear assignment (fmcl/assignment.h), the energy distance and the
 * kernel MMD. */
#ifndef FMCL_METRICS_H
#define FMCL_METRICS_H

#include "fmcl/report.h"
#include "fmcl/status.h"

/* The most points fm_metrics_w2 takes per set. Its cost is O(n^3) time and O(n^2) memory
 * (an n x n matrix of doubles: 800 MB at the limit, where 2-D points take about 16 s on
 * one core; 2000 points take about 0.4 s). */
#define FM_W2_MAX_POINTS 10000

/* Point sets are (n, dim) row-major floats. Every function checks that each coordinate is
 * finite and names the set ("a" or "b") and the row that is not (FM_ERR_NUMERIC). */

/* Exact 2-Wasserstein distance between two sets of n points with uniform weights:
 * sqrt(min over permutations s of (1/n) sum_i |a_i - b_s(i)|^2), n <= FM_W2_MAX_POINTS.
 * A stop request (NULL: never) ends it with FM_ERR_INTERRUPTED. */
fm_status fm_metrics_w2(const float *a, const float *b, int n, int dim, double *w2,
                        fm_stop_flag *stop);

/* Energy distance 2 E|X - Y| - E|X - X'| - E|Y - Y'|, |.| Euclidean. The cross term is
 * the mean over all na nb pairs; the within-set terms are U-statistics, means over the
 * pairs i != j, so na, nb >= 2. The estimate is unbiased and so can be slightly negative
 * when the sets come from one distribution: for two identical sets it is -2/n times their
 * mean pairwise distance. */
fm_status fm_metrics_energy(const float *a, int na, const float *b, int nb, int dim, double *e);

/* Squared maximum mean discrepancy with the Gaussian kernel
 * k(x, y) = exp(-|x - y|^2 / (2 bandwidth^2)), the unbiased U-statistic
 *   1/(na(na-1)) sum_{i!=j} k(a_i, a_j) + 1/(nb(nb-1)) sum_{i!=j} k(b_i, b_j)
 *   - 2/(na nb) sum_{i,j} k(a_i, b_j),
 * so na, nb >= 2; like the energy distance it can be slightly negative. bandwidth <= 0
 * picks it by the median heuristic: fm_metrics_median_distance of the two sets. */
fm_status fm_metrics_mmd(const float *a, int na, const float *b, int nb, int dim, double bandwidth,
                         double *mmd2);

/* The median Euclidean distance between the pairs of distinct points of the pooled sample
 * (a and b together, na, nb >= 1, N = na + nb points, M = N(N-1)/2 pairs): the lower median, the
 * value of rank floor((M - 1) / 2) from 0 in ascending order. Exact, O(N^2 dim) time and
 * O(N dim) memory (a radix selection over the distances, recomputed in four passes). */
fm_status fm_metrics_median_distance(const float *a, int na, const float *b, int nb, int dim,
                                     double *median);

#endif
