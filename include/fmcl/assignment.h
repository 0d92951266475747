/* Minimum-cost perfect assignment of a dense cost matrix, on the host in double precision:
 * the exact W2 metric and the minibatch optimal-transport coupling pair points with it. */
#ifndef FMCL_ASSIGNMENT_H
#define FMCL_ASSIGNMENT_H

#include "fmcl/report.h"
#include "fmcl/status.h"

/* Minimum-cost perfect assignment of a dense n x n cost matrix, cost[row * n + col]:
 * the shortest augmenting path algorithm of Jonker and Volgenant (1987), with their
 * column reduction and reduction transfer as the start. Exact up to rounding in the
 * dual potentials, O(n^3) in the worst case. Costs may be negative or tied; they must be
 * finite. assign[row] = col; *total = sum of cost[row * n + assign[row]].
 *
 * A workspace of O(n_max) memory, reusable for any n <= n_max, so that a caller solving
 * one problem per training step allocates nothing per step. */
typedef struct fm_assignment fm_assignment;

fm_status fm_assignment_create(int n_max, fm_assignment **out);
void fm_assignment_destroy(fm_assignment *ws);
fm_status fm_assignment_run(fm_assignment *ws, const double *cost, int n, int *assign,
                            double *total);

/* Later runs check stop as they go (every free row) and end with FM_ERR_INTERRUPTED when
 * it is set (NULL: never). */
void fm_assignment_set_stop(fm_assignment *ws, fm_stop_flag *stop);

/* The same, one shot: allocates a workspace for n and frees it. total may be NULL. */
fm_status fm_assignment_solve(const double *cost, int n, int *assign, double *total,
                              fm_stop_flag *stop);

#endif
