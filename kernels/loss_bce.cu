// binary_cross_entropy_with_logits, forward and backward in one pass over the elements.
#include "common.cuh"

// For each element i (grid-stride loop), with x = logits[i], y = target[i]:
//   log_weight = 1 + (pos_weight - 1) * y
//   loss       = weight * ((1 - y) * x + log_weight * log(1 + exp(-x)))
//   d loss/dx  = weight * ((1 - y) - log_weight * sigmoid(-x))
// log(1 + exp(-x)) is computed as log1p(exp(-|x|)) + max(-x, 0) so no exp() overflows (PyTorch's
// formula). weight and pos_weight are optional (nullptr) and broadcast by repetition:
// weight[i % weight_period], which covers every weight whose shape is a suffix of the input's.
// Outputs, each optional (nullptr = not wanted):
//   loss[i]                 the per-element loss (reduction="none")
//   loss_partials[block]    this block's sum of the loss (reduction="sum"/"mean": the launcher
//                           finishes with sum_all_partial); needs blockDim.x / 32 values of shared memory
//   grad[i]                 grad_scale * d loss/dx (grad_scale = 1 / n for "mean")
template <typename T>
__global__ void bce_with_logits_forward_backward(
    const T* __restrict__ logits, const T* __restrict__ target,
    const T* __restrict__ weight, long long weight_period,
    const T* __restrict__ pos_weight, long long pos_weight_period,
    T* __restrict__ loss, T* __restrict__ loss_partials, T* __restrict__ grad,
    long long n, T grad_scale) {
    const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
    T partial = T(0);
    for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
        const T x = logits[i];
        const T y = target[i];
        const T w = weight != nullptr ? weight[i % weight_period] : T(1);
        const T log_weight = pos_weight != nullptr ? T(1) + (pos_weight[i % pos_weight_period] - T(1)) * y : T(1);
        const T exp_neg_abs = gg::exp_of(-gg::abs_of(x));
        const T softplus_neg_x = gg::log1p_of(exp_neg_abs) + gg::max_of(-x, T(0));
        const T element_loss = w * ((T(1) - y) * x + log_weight * softplus_neg_x);
        if (loss != nullptr) loss[i] = element_loss;
        partial += element_loss;
        if (grad != nullptr) {
            const T sigmoid_neg_x = x >= T(0) ? exp_neg_abs / (T(1) + exp_neg_abs) : T(1) / (T(1) + exp_neg_abs);
            grad[i] = grad_scale * w * ((T(1) - y) - log_weight * sigmoid_neg_x);
        }
    }
    if (loss_partials != nullptr) {  // uniform across the block, so the barriers inside are reached by all
        partial = gg::block_reduce_sum(partial, gg::dynamic_shared<T>());
        if (threadIdx.x == 0) loss_partials[blockIdx.x] = partial;
    }
}
