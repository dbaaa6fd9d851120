// Row-wise softmax and log_softmax over the last axis of a contiguous (rows, cols) array,
// forward and backward. One block per row (grid-stride over rows); the row's max and sums are
// block reductions (warp shuffles, then shared memory across warps).
// Shared memory for every kernel here: blockDim.x / 32 values of T.
#include "common.cuh"

namespace gg {

template <typename T, bool kLog>
__device__ void softmax_rows_forward(const T* __restrict__ x, T* __restrict__ y, long long rows, long long cols) {
    T* scratch = dynamic_shared<T>();
    for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
        const T* x_row = x + row * cols;
        T* y_row = y + row * cols;
        // Subtracting the row max keeps exp() from overflowing.
        T row_max = negative_infinity<T>();
        for (long long col = threadIdx.x; col < cols; col += blockDim.x) row_max = max_of(row_max, x_row[col]);
        row_max = block_allreduce(row_max, scratch, MaxOp(), negative_infinity<T>());
        T exp_sum = T(0);
        for (long long col = threadIdx.x; col < cols; col += blockDim.x) exp_sum += exp_of(x_row[col] - row_max);
        exp_sum = block_allreduce(exp_sum, scratch, SumOp(), T(0));
        if (kLog) {
            const T log_sum = log_of(exp_sum);
            for (long long col = threadIdx.x; col < cols; col += blockDim.x) {
                y_row[col] = x_row[col] - row_max - log_sum;
            }
        } else {
            for (long long col = threadIdx.x; col < cols; col += blockDim.x) {
                y_row[col] = exp_of(x_row[col] - row_max) / exp_sum;
            }
        }
    }
}

// softmax:     dx = y * (dy - sum(dy * y))
// log_softmax: dx = dy - exp(y) * sum(dy)      (y is the forward output)
template <typename T, bool kLog>
__device__ void softmax_rows_backward(const T* __restrict__ y, const T* __restrict__ dy, T* __restrict__ dx,
                                      long long rows, long long cols) {
    T* scratch = dynamic_shared<T>();
    for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
        const T* y_row = y + row * cols;
        const T* dy_row = dy + row * cols;
        T* dx_row = dx + row * cols;
        T dot = T(0);
        for (long long col = threadIdx.x; col < cols; col += blockDim.x) {
            dot += kLog ? dy_row[col] : dy_row[col] * y_row[col];
        }
        dot = block_allreduce(dot, scratch, SumOp(), T(0));
        for (long long col = threadIdx.x; col < cols; col += blockDim.x) {
            dx_row[col] = kLog ? dy_row[col] - exp_of(y_row[col]) * dot : y_row[col] * (dy_row[col] - dot);
        }
    }
}

}  // namespace gg

template <typename T>
__global__ void softmax_forward(const T* __restrict__ x, T* __restrict__ y, long long rows, long long cols) {
    gg::softmax_rows_forward<T, false>(x, y, rows, cols);
}

template <typename T>
__global__ void log_softmax_forward(const T* __restrict__ x, T* __restrict__ y, long long rows, long long cols) {
    gg::softmax_rows_forward<T, true>(x, y, rows, cols);
}

template <typename T>
__global__ void softmax_backward(const T* __restrict__ y, const T* __restrict__ dy, T* __restrict__ dx,
                                 long long rows, long long cols) {
    gg::softmax_rows_backward<T, false>(y, dy, dx, rows, cols);
}

template <typename T>
__global__ void log_softmax_backward(const T* __restrict__ y, const T* __restrict__ dy, T* __restrict__ dx,
                                     long long rows, long long cols) {
    gg::softmax_rows_backward<T, true>(y, dy, dx, rows, cols);
}
