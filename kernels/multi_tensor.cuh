// Multi-tensor apply: one launch updates many tensors. The launcher uploads two small tables:
//   tensors: one row of kSlots unsigned 64-bit words per tensor: kSlots - 1 device pointers
//            (param, grad, optimizer state...; 0 for a state the options do not use), then numel;
//   blocks:  two ints per block: which tensor it works on, and which chunk of chunk_size
//            elements of that tensor.
// Blocks map to (tensor, chunk) pairs, so a launch covers tensors of any mix of sizes evenly.
#pragma once

#include "common.cuh"

namespace gg {

template <int kSlots>
struct TensorChunk {
    const unsigned long long* entry;  // this tensor's row of the table
    long long begin;                  // first element of the chunk
    long long end;                    // one past the last

    template <typename T>
    __device__ __forceinline__ T* pointer(int slot) const { return reinterpret_cast<T*>(entry[slot]); }
};

template <int kSlots>
__device__ __forceinline__ TensorChunk<kSlots> this_blocks_chunk(const unsigned long long* tensors,
                                                                 const int* blocks, long long chunk_size) {
    const int tensor = blocks[2 * blockIdx.x];
    const long long chunk = blocks[2 * blockIdx.x + 1];
    TensorChunk<kSlots> result;
    result.entry = tensors + static_cast<long long>(tensor) * kSlots;
    const long long numel = static_cast<long long>(result.entry[kSlots - 1]);
    result.begin = chunk * chunk_size;
    result.end = min_of(numel, result.begin + chunk_size);
    return result;
}

}  // namespace gg
