// Fused SGD step (PyTorch's torch.optim.SGD semantics) over many tensors per launch.
#include "multi_tensor.cuh"

// Table row: param, grad, momentum_buffer (0 when momentum == 0), numel.
inline constexpr int kSgdSlots = 4;

// Per element, with g the gradient:
//   g = -g if maximize;  g += weight_decay * param
//   if momentum != 0:  buf = g on the first step, else momentum * buf + (1 - dampening) * g
//                      g = g + momentum * buf if nesterov, else buf
//   param -= lr * g
// Flags are ints (0/1) because bool kernel arguments have no fixed size across compilers.
template <typename T>
__global__ void sgd_multi_tensor(const unsigned long long* __restrict__ tensors, const int* __restrict__ blocks,
                                 long long chunk_size, T lr, T momentum, T dampening, T weight_decay,
                                 int nesterov, int maximize, int first_step) {
    const gg::TensorChunk<kSgdSlots> chunk = gg::this_blocks_chunk<kSgdSlots>(tensors, blocks, chunk_size);
    T* param = chunk.pointer<T>(0);
    const T* grad = chunk.pointer<const T>(1);
    T* momentum_buffer = chunk.pointer<T>(2);
    for (long long i = chunk.begin + threadIdx.x; i < chunk.end; i += blockDim.x) {
        T g = maximize ? -grad[i] : grad[i];
        if (weight_decay != T(0)) g += weight_decay * param[i];
        if (momentum != T(0)) {
            const T buf = first_step ? g : momentum * momentum_buffer[i] + (T(1) - dampening) * g;
            momentum_buffer[i] = buf;
            g = nesterov ? g + momentum * buf : buf;
        }
        param[i] -= lr * g;
    }
}
