/* Tree reductions in two passes: a first pass of work-groups, each summing its share into
 * one partial sum per group (and column), and a second pass over the partials. No float
 * atomics and no serial loop over a whole batch; the summation order depends only on the
 * sizes, so a result is the same on every run of a device. FM_REDUCE_WG is the device's
 * own power of two (the host builds every program with it). */
#ifndef FMCL_REDUCE_CL /* one copy when a file compiled alone includes it */
#define FMCL_REDUCE_CL

#ifndef FM_REDUCE_WG
#define FM_REDUCE_WG 64
#endif
#if FM_REDUCE_WG & (FM_REDUCE_WG - 1)
#error "FM_REDUCE_WG must be a power of two"
#endif

/* Columns and rows of the column reductions' work-groups: 16 neighbouring columns read
 * neighbouring floats of a row. */
#define FM_COLS_X (FM_REDUCE_WG < 16 ? FM_REDUCE_WG : 16)
#define FM_COLS_Y (FM_REDUCE_WG / FM_COLS_X)

/* The sum over the work-group of one value per work-item, in a fixed order; every item
 * gets it. */
static inline float fm_group_sum(__local float *part, float v) {
  uint lid = get_local_id(0);
  part[lid] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint stride = FM_REDUCE_WG / 2; stride > 0; stride >>= 1) {
    if (lid < stride) part[lid] += part[lid + stride];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  float s = part[0];
  barrier(CLK_LOCAL_MEM_FENCE);
  return s;
}

/* The column-wise sum over the rows of a (FM_COLS_X, FM_COLS_Y) work-group; every item
 * gets its column's sum. */
static inline float fm_group_column_sum(__local float *part, float v) {
  uint lx = get_local_id(0), ly = get_local_id(1);
  part[ly * FM_COLS_X + lx] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint stride = FM_COLS_Y / 2; stride > 0; stride >>= 1) {
    if (ly < stride) part[ly * FM_COLS_X + lx] += part[(ly + stride) * FM_COLS_X + lx];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  float s = part[lx];
  barrier(CLK_LOCAL_MEM_FENCE);
  return s;
}

/* The row-wise sum over the columns of a (FM_COLS_X, FM_COLS_Y) work-group; every item
 * gets its row's sum. */
static inline float fm_group_row_sum(__local float *part, float v) {
  uint lx = get_local_id(0), ly = get_local_id(1);
  part[ly * FM_COLS_X + lx] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint stride = FM_COLS_X / 2; stride > 0; stride >>= 1) {
    if (lx < stride) part[ly * FM_COLS_X + lx] += part[ly * FM_COLS_X + lx + stride];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  float s = part[ly * FM_COLS_X];
  barrier(CLK_LOCAL_MEM_FENCE);
  return s;
}

/* partial[g] = sum of x[i]^2 over work-group g's share of i (items stride over n). */
__kernel __attribute__((reqd_work_group_size(FM_REDUCE_WG, 1, 1)))
void fm_sumsq_partials(__global const float *x, uint n, __global float *partial) {
  __local float part[FM_REDUCE_WG];
  float s = 0.0f;
  for (uint i = get_global_id(0); i < n; i += get_global_size(0)) s += x[i] * x[i];
  s = fm_group_sum(part, s);
  if (get_local_id(0) == 0) partial[get_group_id(0)] = s;
}

/* out[0] = sqrt(sum of partial[0..groups)): one work-group. */
__kernel __attribute__((reqd_work_group_size(FM_REDUCE_WG, 1, 1)))
void fm_norm_finish(__global const float *partial, uint groups, __global float *out) {
  __local float part[FM_REDUCE_WG];
  float s = 0.0f;
  for (uint i = get_local_id(0); i < groups; i += FM_REDUCE_WG) s += partial[i];
  s = fm_group_sum(part, s);
  if (get_local_id(0) == 0) out[0] = sqrt(s);
}

/* Column sums of g (n, width), first pass: row group gy (of get_num_groups(1)) sums its
 * rows (items stride over n) of each column c into partial[gy * ldp + at + c]. Range
 * (width rounded up, groups * FM_COLS_Y), local (FM_COLS_X, FM_COLS_Y). */
__kernel __attribute__((reqd_work_group_size(FM_COLS_X, FM_COLS_Y, 1)))
void fm_column_partials(__global const float *g, uint n, uint width, __global float *partial,
                        uint ldp, uint at) {
  __local float part[FM_REDUCE_WG];
  uint c = get_global_id(0);
  float s = 0.0f;
  if (c < width)
    for (uint i = get_global_id(1); i < n; i += get_global_size(1)) s += g[(size_t)i * width + c];
  s = fm_group_column_sum(part, s);
  if (get_local_id(1) == 0 && c < width) partial[get_group_id(1) * ldp + at + c] = s;
}

/* Second pass: out[dest[j]] = sum over the groups of partial[g * ldp + j], for the columns
 * j in [first, first + count). */
__kernel void fm_column_finish(__global const float *partial, uint groups, uint ldp, uint first,
                               uint count, __global const int *dest, __global float *out) {
  uint j = first + get_global_id(0);
  if (get_global_id(0) >= count) return;
  float s = 0.0f;
  for (uint g = 0; g < groups; g++) s += partial[g * ldp + j];
  out[dest[j]] = s;
}

#endif /* FMCL_REDUCE_CL */
