// Sum and mean reductions: over the last axis of a contiguous (rows, cols) array, and over all
// elements (two passes: per-block partial sums, then one block over the partials).
#include "common.cuh"

// out[row] = scale * sum(x[row, :]); one block per row, with a grid-stride loop over rows.
// scale is 1 for a sum and 1 / cols for a mean. Shared memory: blockDim.x / 32 values of T.
template <typename T>
__global__ void sum_last_axis(const T* __restrict__ x, T* __restrict__ out, long long rows, long long cols,
                              T scale) {
    T* scratch = gg::dynamic_shared<T>();
    for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
        const T* x_row = x + row * cols;
        T total = T(0);
        for (long long col = threadIdx.x; col < cols; col += blockDim.x) total += x_row[col];
        total = gg::block_reduce_sum(total, scratch);
        if (threadIdx.x == 0) out[row] = total * scale;
    }
}

// partials[blockIdx.x] = scale * (sum of the elements this block visits in a grid-stride loop).
// Run once with many blocks over x, then with one block over the partials to finish (a second
// pass instead of atomics keeps the result deterministic). Shared memory: blockDim.x / 32 values.
template <typename T>
__global__ void sum_all_partial(const T* __restrict__ x, T* __restrict__ partials, long long n, T scale) {
    T* scratch = gg::dynamic_shared<T>();
    const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
    T total = T(0);
    for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
        total += x[i];
    }
    total = gg::block_reduce_sum(total, scratch);
    if (threadIdx.x == 0) partials[blockIdx.x] = total * scale;
}
