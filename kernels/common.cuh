// Shared pieces of gpugrad's CUDA kernels: overloads that pick the float or double math
// function, dynamic shared memory, and warp/block reductions.
//
// Every kernel in this folder assumes a one-dimensional block whose size is a multiple of 32
// (at most 1024); the Python launchers in gpugrad/backends/kernels.py guarantee it.
// The same sources are compiled by NVRTC (through CuPy), by nvcc in CI, and by g++ in the CPU
// emulator of tests/kernels/cuda_emu, so they include no headers and use only CUDA built-ins.
#pragma once

namespace gg {

inline constexpr unsigned kFullMask = 0xffffffffu;
inline constexpr int kWarpSize = 32;

// Math overloads: CUDA's expf/exp and friends are separate functions per type; templates call
// these so float kernels never silently compute in double (or the reverse).
__device__ __forceinline__ float exp_of(float x) { return expf(x); }
__device__ __forceinline__ double exp_of(double x) { return exp(x); }
__device__ __forceinline__ float log_of(float x) { return logf(x); }
__device__ __forceinline__ double log_of(double x) { return log(x); }
__device__ __forceinline__ float log1p_of(float x) { return log1pf(x); }
__device__ __forceinline__ double log1p_of(double x) { return log1p(x); }
__device__ __forceinline__ float sqrt_of(float x) { return sqrtf(x); }
__device__ __forceinline__ double sqrt_of(double x) { return sqrt(x); }
__device__ __forceinline__ float abs_of(float x) { return fabsf(x); }
__device__ __forceinline__ double abs_of(double x) { return fabs(x); }
__device__ __forceinline__ float max_of(float a, float b) { return fmaxf(a, b); }
__device__ __forceinline__ double max_of(double a, double b) { return fmax(a, b); }
__device__ __forceinline__ long long min_of(long long a, long long b) { return a < b ? a : b; }

template <typename T> __device__ __forceinline__ T negative_infinity();
template <> __device__ __forceinline__ float negative_infinity<float>() { return __int_as_float(0xff800000); }
template <> __device__ __forceinline__ double negative_infinity<double>() {
    return __longlong_as_double(0xfff0000000000000LL);
}

// The block's dynamic shared memory (sized by the launcher's shared_mem) viewed as T.
// One byte array for every kernel, because extern __shared__ arrays of different element types
// would clash between template instantiations.
template <typename T>
__device__ __forceinline__ T* dynamic_shared() {
    extern __shared__ __align__(16) unsigned char gg_dynamic_shared[];
    return reinterpret_cast<T*>(gg_dynamic_shared);
}

struct SumOp {
    template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};

struct MaxOp {
    template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return max_of(a, b); }
};

// Reduces v over the 32 lanes of a warp and returns the result to every lane (butterfly).
template <typename T, typename Op>
__device__ __forceinline__ T warp_allreduce(T v, Op op) {
    for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
        v = op(v, __shfl_xor_sync(kFullMask, v, offset));
    }
    return v;
}

// Sums v over the 32 lanes of a warp; only lane 0 holds the total afterwards.
template <typename T>
__device__ __forceinline__ T warp_reduce_sum(T v) {
    for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
        v += __shfl_down_sync(kFullMask, v, offset);
    }
    return v;
}

// Reduces v over the whole block and returns the result to every thread.
// scratch: shared memory for blockDim.x / 32 values. Ends with a barrier, so the caller may
// reuse scratch (e.g. for the next reduction) right away.
template <typename T, typename Op>
__device__ T block_allreduce(T v, T* scratch, Op op, T identity) {
    const int lane = threadIdx.x % kWarpSize;
    const int warp = threadIdx.x / kWarpSize;
    const int warps = blockDim.x / kWarpSize;
    v = warp_allreduce(v, op);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    // Every warp re-reduces the per-warp partials, which saves a broadcast through shared memory.
    v = warp_allreduce(lane < warps ? scratch[lane] : identity, op);
    __syncthreads();
    return v;
}

// Sums v over the whole block; only thread 0 holds the total afterwards.
// scratch: shared memory for blockDim.x / 32 values; ends with a barrier like block_allreduce.
template <typename T>
__device__ T block_reduce_sum(T v, T* scratch) {
    const int lane = threadIdx.x % kWarpSize;
    const int warp = threadIdx.x / kWarpSize;
    const int warps = blockDim.x / kWarpSize;
    v = warp_reduce_sum(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    if (warp == 0) v = warp_reduce_sum(lane < warps ? scratch[lane] : T(0));
    __syncthreads();
    return v;
}

}  // namespace gg
