// mse_loss, forward and backward in one pass over the elements.
#include "common.cuh"

// For each element i (grid-stride loop): loss = (input - target)^2, d loss/d input = 2 (input - target).
// Outputs, each optional (nullptr = not wanted), as in bce_with_logits_forward_backward:
//   loss[i]; loss_partials[block] (needs blockDim.x / 32 values of shared memory);
//   grad[i] = grad_scale * d loss/d input (the gradient for target is its negative).
template <typename T>
__global__ void mse_loss_forward_backward(const T* __restrict__ input, const T* __restrict__ target,
                                          T* __restrict__ loss, T* __restrict__ loss_partials, T* __restrict__ grad,
                                          long long n, T grad_scale) {
    const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
    T partial = T(0);
    for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
        const T diff = input[i] - target[i];
        const T element_loss = diff * diff;
        if (loss != nullptr) loss[i] = element_loss;
        partial += element_loss;
        if (grad != nullptr) grad[i] = grad_scale * T(2) * diff;
    }
    if (loss_partials != nullptr) {  // uniform across the block, so the barriers inside are reached by all
        partial = gg::block_reduce_sum(partial, gg::dynamic_shared<T>());
        if (threadIdx.x == 0) loss_partials[blockIdx.x] = partial;
    }
}
