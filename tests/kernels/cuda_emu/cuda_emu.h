// cuda_emu.h: just enough of CUDA C++ to compile gpugrad's kernels with g++ and run them on the CPU.
//
// Include this before a .cu file. Every CUDA thread of a block becomes a fiber (its own stack, one
// OS thread for the whole block), so __syncthreads() and the warp collectives (__shfl_*_sync,
// __ballot_sync, ...) really wait for the other threads, in an order the test chooses (forward or
// reverse thread order). Blocks run one after another. The runtime (runtime.cpp) also checks what
// a GPU would not report: a barrier that not every thread reaches, divergent or dangling warp
// collectives, argument types that do not match the kernel's parameters, reads outside device
// arrays or outside the launch's dynamic shared memory (guard pages), and it fills new device
// arrays and dynamic shared memory with 0xFF bytes (NaN for float and double) so reading memory
// nothing wrote shows up in the results.
//
// Limits (see docs/gpu.md): no memory model (fences and ordering between blocks are not checked),
// no timing, no occupancy, no bank conflicts; `__shared__` may only appear as
// `extern __shared__ ... gg_dynamic_shared[]` (tests/kernels/cuda_emu/build.py enforces it).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#define GG_CUDA_EMULATOR 1

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __shared__
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)

namespace gg_emu {

struct uint3 {
    unsigned int x, y, z;
};

struct dim3 {
    unsigned int x, y, z;
    constexpr dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1) : x(x_), y(y_), z(z_) {}
};

// What a kernel can see of the fiber that runs it; runtime.cpp extends it.
struct ThreadView {
    uint3 thread_idx;
};

extern ThreadView* current_thread;
extern uint3 block_idx;
extern dim3 block_dim;
extern dim3 grid_dim;

struct Site {
    const char* file;
    int line;
};

enum class Collective { shfl, shfl_up, shfl_down, shfl_xor, ballot, any, all, syncwarp };

void syncthreads(Site site);
std::uint64_t warp_collective(Site site, Collective op, unsigned mask, std::uint64_t value, int lane_arg, int width);

template <typename T>
std::uint64_t to_bits(T value) {
    static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "warp collectives move at most 8 bytes");
    std::uint64_t bits = 0;
    std::memcpy(&bits, &value, sizeof(T));
    return bits;
}

template <typename T>
T from_bits(std::uint64_t bits) {
    T value;
    std::memcpy(&value, &bits, sizeof(T));
    return value;
}

template <typename T>
T shuffle(Site site, Collective op, unsigned mask, T value, int lane_arg, int width) {
    return from_bits<T>(warp_collective(site, op, mask, to_bits(value), lane_arg, width));
}

}  // namespace gg_emu

using gg_emu::dim3;
using gg_emu::uint3;

// Read-only views, so a kernel cannot assign to them (as on a GPU).
#define threadIdx (static_cast<const ::gg_emu::uint3&>(::gg_emu::current_thread->thread_idx))
#define blockIdx (static_cast<const ::gg_emu::uint3&>(::gg_emu::block_idx))
#define blockDim (static_cast<const ::gg_emu::dim3&>(::gg_emu::block_dim))
#define gridDim (static_cast<const ::gg_emu::dim3&>(::gg_emu::grid_dim))
constexpr int warpSize = 32;

#define GG_EMU_SITE (::gg_emu::Site{__FILE__, __LINE__})
#define __syncthreads() ::gg_emu::syncthreads(GG_EMU_SITE)

namespace gg_emu {
template <typename T>
T shfl_sync(Site s, unsigned mask, T v, int lane, int width = 32) {
    return shuffle(s, Collective::shfl, mask, v, lane, width);
}
template <typename T>
T shfl_up_sync(Site s, unsigned mask, T v, unsigned d, int width = 32) {
    return shuffle(s, Collective::shfl_up, mask, v, static_cast<int>(d), width);
}
template <typename T>
T shfl_down_sync(Site s, unsigned mask, T v, unsigned d, int width = 32) {
    return shuffle(s, Collective::shfl_down, mask, v, static_cast<int>(d), width);
}
template <typename T>
T shfl_xor_sync(Site s, unsigned mask, T v, int lane_mask, int width = 32) {
    return shuffle(s, Collective::shfl_xor, mask, v, lane_mask, width);
}
inline unsigned ballot_sync(Site s, unsigned mask, int predicate) {
    return static_cast<unsigned>(warp_collective(s, Collective::ballot, mask, predicate != 0, 0, 32));
}
inline int any_sync(Site s, unsigned mask, int predicate) {
    return static_cast<int>(warp_collective(s, Collective::any, mask, predicate != 0, 0, 32));
}
inline int all_sync(Site s, unsigned mask, int predicate) {
    return static_cast<int>(warp_collective(s, Collective::all, mask, predicate != 0, 0, 32));
}
inline void syncwarp(Site s, unsigned mask = 0xffffffffu) { warp_collective(s, Collective::syncwarp, mask, 0, 0, 32); }
}  // namespace gg_emu

#define __shfl_sync(...) ::gg_emu::shfl_sync(GG_EMU_SITE, __VA_ARGS__)
#define __shfl_up_sync(...) ::gg_emu::shfl_up_sync(GG_EMU_SITE, __VA_ARGS__)
#define __shfl_down_sync(...) ::gg_emu::shfl_down_sync(GG_EMU_SITE, __VA_ARGS__)
#define __shfl_xor_sync(...) ::gg_emu::shfl_xor_sync(GG_EMU_SITE, __VA_ARGS__)
#define __ballot_sync(...) ::gg_emu::ballot_sync(GG_EMU_SITE, __VA_ARGS__)
#define __any_sync(...) ::gg_emu::any_sync(GG_EMU_SITE, __VA_ARGS__)
#define __all_sync(...) ::gg_emu::all_sync(GG_EMU_SITE, __VA_ARGS__)
#define __syncwarp(...) ::gg_emu::syncwarp(GG_EMU_SITE __VA_OPT__(, ) __VA_ARGS__)

// Fibers of a block never run at the same time, so plain read-modify-writes are atomic here.
template <typename T>
T atomicAdd(T* address, T value) {
    const T old = *address;
    *address = old + value;
    return old;
}
template <typename T>
T atomicSub(T* address, T value) {
    const T old = *address;
    *address = old - value;
    return old;
}
template <typename T>
T atomicExch(T* address, T value) {
    const T old = *address;
    *address = value;
    return old;
}
template <typename T>
T atomicMax(T* address, T value) {
    const T old = *address;
    *address = old < value ? value : old;
    return old;
}
template <typename T>
T atomicMin(T* address, T value) {
    const T old = *address;
    *address = value < old ? value : old;
    return old;
}
template <typename T>
T atomicCAS(T* address, T compare, T value) {
    const T old = *address;
    if (old == compare) *address = value;
    return old;
}
inline void __threadfence() {}
inline void __threadfence_block() {}

// Bit casts and intrinsics.
inline float __int_as_float(int bits) { return gg_emu::from_bits<float>(static_cast<std::uint32_t>(bits)); }
inline float __int_as_float(unsigned bits) { return gg_emu::from_bits<float>(bits); }
inline int __float_as_int(float x) { return static_cast<int>(gg_emu::to_bits(x)); }
inline double __longlong_as_double(long long bits) {
    return gg_emu::from_bits<double>(static_cast<std::uint64_t>(bits));
}
inline long long __double_as_longlong(double x) { return static_cast<long long>(gg_emu::to_bits(x)); }
template <typename T>
T __ldg(const T* p) { return *p; }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
template <typename T>
T min(T a, T b) { return b < a ? b : a; }
template <typename T>
T max(T a, T b) { return a < b ? b : a; }

// CUDA's float overloads of the math functions live in the global namespace.
using std::abs;
using std::exp;
using std::log;
using std::log1p;
using std::sqrt;

// Kernel registration: the generated translation unit lists each template instantiation the
// Python side may launch, by the same text CuPy's name_expressions use, and the registrar records
// the parameter types so a launch with the wrong argument types is refused.
namespace gg_emu {

template <typename T> struct TypeName;
template <> struct TypeName<float> { static constexpr const char* value = "float32"; };
template <> struct TypeName<double> { static constexpr const char* value = "float64"; };
template <> struct TypeName<bool> { static constexpr const char* value = "bool"; };
template <> struct TypeName<signed char> { static constexpr const char* value = "int8"; };
template <> struct TypeName<unsigned char> { static constexpr const char* value = "uint8"; };
template <> struct TypeName<short> { static constexpr const char* value = "int16"; };
template <> struct TypeName<unsigned short> { static constexpr const char* value = "uint16"; };
template <> struct TypeName<int> { static constexpr const char* value = "int32"; };
template <> struct TypeName<unsigned int> { static constexpr const char* value = "uint32"; };
template <> struct TypeName<long> { static constexpr const char* value = "int64"; };
template <> struct TypeName<unsigned long> { static constexpr const char* value = "uint64"; };
template <> struct TypeName<long long> { static constexpr const char* value = "int64"; };
template <> struct TypeName<unsigned long long> { static constexpr const char* value = "uint64"; };

// "float32" for a float parameter, "float32*" for a (const) float* parameter.
template <typename T>
std::string type_name() {
    if constexpr (std::is_pointer_v<T>) {
        return type_name<std::remove_cv_t<std::remove_pointer_t<T>>>() + "*";
    } else {
        return TypeName<std::remove_cv_t<T>>::value;
    }
}

template <typename T>
constexpr bool is_read_only_pointer() {
    if constexpr (std::is_pointer_v<T>) {
        return std::is_const_v<std::remove_pointer_t<T>>;
    } else {
        return false;
    }
}

// Each argument arrives as 8 bytes: a pointer, or a scalar in its low bytes (little-endian).
template <typename T>
T unpack_argument(std::uint64_t bits) {
    if constexpr (std::is_pointer_v<T>) {
        return reinterpret_cast<T>(static_cast<std::uintptr_t>(bits));
    } else {
        return from_bits<T>(bits);
    }
}

using BoundKernel = std::function<void()>;
using KernelBinder = std::function<BoundKernel(const std::uint64_t* arguments)>;

void register_kernel(const char* name, std::vector<std::string> parameter_types,
                     std::vector<bool> parameter_read_only, KernelBinder binder);

struct Registrar {
    template <typename... Args>
    Registrar(const char* name, void (*kernel)(Args...)) {
        auto binder = [kernel](const std::uint64_t* arguments) -> BoundKernel {
            return bind(kernel, arguments, std::index_sequence_for<Args...>{});
        };
        register_kernel(name, {type_name<Args>()...}, {is_read_only_pointer<Args>()...}, binder);
    }

    template <typename... Args, std::size_t... I>
    static BoundKernel bind(void (*kernel)(Args...), const std::uint64_t* arguments, std::index_sequence<I...>) {
        std::tuple<Args...> values{unpack_argument<Args>(arguments[I])...};
        return [kernel, values]() { std::apply(kernel, values); };
    }
};

}  // namespace gg_emu

#define GG_EMU_CONCAT_(a, b) a##b
#define GG_EMU_CONCAT(a, b) GG_EMU_CONCAT_(a, b)
#define GG_EMU_REGISTER_KERNEL(...) \
    static ::gg_emu::Registrar GG_EMU_CONCAT(gg_emu_registrar_, __COUNTER__)(#__VA_ARGS__, &__VA_ARGS__);
