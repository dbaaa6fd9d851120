// Fused Adam / AdamW step (PyTorch's torch.optim.Adam and AdamW semantics) over many tensors per launch.
#include "multi_tensor.cuh"

// Table row: param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq (0 unless amsgrad), numel.
inline constexpr int kAdamSlots = 6;

// Per element, with g the gradient and t the step count (after the increment):
//   g = -g if maximize
//   weight decay: param *= 1 - lr * weight_decay if decoupled (AdamW), else g += weight_decay * param
//   exp_avg    += (1 - beta1) * (g - exp_avg)             (torch's lerp_)
//   exp_avg_sq  = beta2 * exp_avg_sq + (1 - beta2) * g * g
//   v = exp_avg_sq, or with amsgrad max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq) and v = that
//   param -= step_size * exp_avg / (sqrt(v) / bias_correction2_sqrt + eps)
// The launcher computes step_size = lr / (1 - beta1^t) and bias_correction2_sqrt = sqrt(1 - beta2^t)
// in double on the host, once per step.
template <typename T>
__global__ void adam_multi_tensor(const unsigned long long* __restrict__ tensors, const int* __restrict__ blocks,
                                  long long chunk_size, T lr, T beta1, T beta2, T eps, T weight_decay,
                                  T step_size, T bias_correction2_sqrt, int decoupled, int amsgrad, int maximize) {
    const gg::TensorChunk<kAdamSlots> chunk = gg::this_blocks_chunk<kAdamSlots>(tensors, blocks, chunk_size);
    T* param = chunk.pointer<T>(0);
    const T* grad = chunk.pointer<const T>(1);
    T* exp_avg = chunk.pointer<T>(2);
    T* exp_avg_sq = chunk.pointer<T>(3);
    T* max_exp_avg_sq = chunk.pointer<T>(4);
    for (long long i = chunk.begin + threadIdx.x; i < chunk.end; i += blockDim.x) {
        T g = maximize ? -grad[i] : grad[i];
        T p = param[i];
        if (weight_decay != T(0)) {
            if (decoupled) {
                p *= T(1) - lr * weight_decay;
            } else {
                g += weight_decay * p;
            }
        }
        const T m = exp_avg[i] + (T(1) - beta1) * (g - exp_avg[i]);
        const T v = beta2 * exp_avg_sq[i] + (T(1) - beta2) * g * g;
        exp_avg[i] = m;
        exp_avg_sq[i] = v;
        T v_used = v;
        if (amsgrad) {
            v_used = gg::max_of(max_exp_avg_sq[i], v);
            max_exp_avg_sq[i] = v_used;
        }
        param[i] = p - step_size * m / (gg::sqrt_of(v_used) / bias_correction2_sqrt + eps);
    }
}
