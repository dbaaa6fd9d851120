// runtime.cpp: the CPU side of cuda_emu.h, and its C API for ctypes (backend.py).
//
// A launch runs the blocks one after another. Each thread of a block is a fiber with its own
// stack; the scheduler always resumes the first ready fiber in the chosen order (forward or
// reverse), which runs until it finishes or waits at __syncthreads() or at a warp collective;
// when no fiber is ready it releases the barrier or reports a deadlock. Device arrays live
// between guard pages, and a fault during a launch is turned into an error message (not a
// crash) by a SIGSEGV handler that jumps back to the launch.
#include "cuda_emu.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>
#if !defined(__x86_64__) || defined(GG_EMU_UCONTEXT)
#include <ucontext.h>
#endif

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

// Dynamic shared memory: every kernel declares `extern __shared__ unsigned char gg_dynamic_shared[]`,
// in namespace gg (kernels/common.cuh) or at global scope. Both names resolve to one page-aligned
// window; a launch makes its first shared_mem bytes (rounded up to a page) accessible and the rest
// a guard.
constexpr std::size_t kMaxDynamicShared = 48 * 1024;  // CUDA's default limit without an opt-in
constexpr std::size_t kSharedWindow = kMaxDynamicShared + 64 * 1024;
alignas(65536) unsigned char gg_dynamic_shared[kSharedWindow];
namespace gg {
extern unsigned char gg_dynamic_shared[kSharedWindow] __attribute__((alias("gg_dynamic_shared")));
}

namespace gg_emu {

ThreadView* current_thread = nullptr;
uint3 block_idx{0, 0, 0};
dim3 block_dim;
dim3 grid_dim;

namespace {

constexpr unsigned char kPoison = 0xFF;  // NaN as float and as double, -1 as an integer
constexpr std::size_t kStackSize = 256 * 1024;
constexpr int kWarpSizeEmu = 32;

enum ErrorKind { kOk = 0, kLaunchError = 1, kArgumentError = 2, kBarrierError = 3, kWarpError = 4, kMemoryFault = 5 };

std::size_t page_size() {
    static const std::size_t size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    return size;
}

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

template <typename... Args>
std::string format(const char* pattern, Args... args) {
    std::string text(std::snprintf(nullptr, 0, pattern, args...), '\0');
    std::snprintf(text.data(), text.size() + 1, pattern, args...);
    return text;
}

// ---------------------------------------------------------------------------------------------
// Kernels registered by the generated translation units.

struct KernelEntry {
    std::string name;
    std::vector<std::string> parameter_types;
    std::vector<bool> parameter_read_only;  // const T* parameters
    KernelBinder binder;
    std::string signature;
};

std::vector<KernelEntry>& kernel_table() {
    static std::vector<KernelEntry> table;
    return table;
}

// ---------------------------------------------------------------------------------------------
// Context switching. x86-64 gets a small hand-written switch (callee-saved registers, the x87 and
// SSE control words, the stack pointer); elsewhere ucontext, which is correct but makes a system
// call per switch.

#if defined(__x86_64__) && !defined(GG_EMU_UCONTEXT)
extern "C" void gg_emu_switch_stack(void** save_sp, void* load_sp);
asm(R"(
    .text
    .globl gg_emu_switch_stack
    .type gg_emu_switch_stack, @function
gg_emu_switch_stack:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $16, %rsp
    stmxcsr 8(%rsp)
    fnstcw (%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    fldcw (%rsp)
    ldmxcsr 8(%rsp)
    addq $16, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size gg_emu_switch_stack, .-gg_emu_switch_stack
    .section .note.GNU-stack,"",@progbits
    .text
)");

struct Context {
    void* sp = nullptr;
};

void switch_context(Context& from, Context& to) { gg_emu_switch_stack(&from.sp, to.sp); }

// Lays out the stack as gg_emu_switch_stack leaves it, so the first switch "returns" into entry.
void make_context(Context& context, char* stack_base, std::size_t stack_size, void (*entry)()) {
    auto top = (reinterpret_cast<std::uintptr_t>(stack_base) + stack_size) & ~std::uintptr_t{15};
    auto* sp = reinterpret_cast<std::uint64_t*>(top);
    *--sp = 0;                                          // entry's return address: it never returns
    *--sp = reinterpret_cast<std::uintptr_t>(entry);  // popped by ret
    for (int i = 0; i < 6; ++i) *--sp = 0;            // rbp rbx r12 r13 r14 r15
    *--sp = 0x1F80;                                     // mxcsr: default rounding, exceptions masked
    *--sp = 0x037F;                                     // x87 control word
    context.sp = sp;
}
#else
struct Context {
    ucontext_t uc;
};

void switch_context(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }

void make_context(Context& context, char* stack_base, std::size_t stack_size, void (*entry)()) {
    getcontext(&context.uc);
    context.uc.uc_stack.ss_sp = stack_base;
    context.uc.uc_stack.ss_size = stack_size;
    context.uc.uc_link = nullptr;
    makecontext(&context.uc, entry, 0);
}
#endif

// ---------------------------------------------------------------------------------------------
// Fibers and the state of the launch in progress (one at a time; backend.py holds a lock).

enum class State { ready, at_barrier, at_collective, done };

struct Fiber : ThreadView {
    Context context;
    char* stack = nullptr;  // usable stack (a guard page lies below it)
    State state = State::ready;
    int linear = 0;
    int lane = 0;
    int warp = 0;
    Site site{nullptr, 0};
    Collective op = Collective::shfl;
    unsigned mask = 0;
    std::uint64_t value = 0;
    int lane_arg = 0;
    int width = 32;
    std::uint64_t result = 0;
};

struct Launch {
    std::string kernel_name;
    BoundKernel body;
    std::vector<Fiber> fibers;
    int threads = 0;
    Context scheduler;
    std::size_t shared_bytes = 0;
    bool reverse = false;       // the thread schedule: priority to the highest thread index
    int lowest_released = 0;    // earliest schedule position made ready while a fiber ran
    int error_kind = kOk;
    std::string error;
};

Launch launch_state;
std::string last_error;

Fiber* me() { return static_cast<Fiber*>(current_thread); }

std::string where(const Fiber& f) {
    return format("thread (%u,%u,%u) of block (%u,%u,%u)", f.thread_idx.x, f.thread_idx.y, f.thread_idx.z,
                  block_idx.x, block_idx.y, block_idx.z);
}

std::string site_text(Site site) { return format("%s:%d", site.file, site.line); }

bool same_site(Site a, Site b) { return a.line == b.line && std::strcmp(a.file, b.file) == 0; }

const char* collective_name(Collective op) {
    switch (op) {
        case Collective::shfl: return "__shfl_sync";
        case Collective::shfl_up: return "__shfl_up_sync";
        case Collective::shfl_down: return "__shfl_down_sync";
        case Collective::shfl_xor: return "__shfl_xor_sync";
        case Collective::ballot: return "__ballot_sync";
        case Collective::any: return "__any_sync";
        case Collective::all: return "__all_sync";
        case Collective::syncwarp: return "__syncwarp";
    }
    return "?";
}

void record_error(int kind, const std::string& message) {
    if (launch_state.error_kind != kOk) return;  // keep the first
    launch_state.error_kind = kind;
    launch_state.error = "kernel " + launch_state.kernel_name + ": " + message;
}

// Called on a fiber: record the error and leave for good (the scheduler abandons the block).
[[noreturn]] void fail_in_fiber(int kind, const std::string& message) {
    record_error(kind, message);
    Fiber* f = me();
    f->state = State::done;
    switch_context(f->context, launch_state.scheduler);
    std::abort();  // never resumed
}

void yield_to_scheduler() {
    Fiber* f = me();
    switch_context(f->context, launch_state.scheduler);
}

void fiber_main() {
    launch_state.body();
    Fiber* f = me();
    f->state = State::done;
    switch_context(f->context, launch_state.scheduler);
    std::abort();  // never resumed
}

// ---------------------------------------------------------------------------------------------
// Guarded memory: every device array sits between two inaccessible pages, its last byte right
// before the upper guard, so any read or write past its end faults.

struct Allocation {
    char* base;             // the mapping, lower guard page first
    std::size_t map_bytes;
    char* data;
    std::size_t bytes;
};

std::map<std::uintptr_t, Allocation> allocations;  // by data address
std::vector<std::pair<std::uintptr_t, std::uintptr_t>> freed_ranges;
std::vector<char*> fiber_stacks;

const Allocation* allocation_containing(std::uintptr_t address, std::size_t bytes) {
    auto it = allocations.upper_bound(address);
    if (it == allocations.begin()) return nullptr;
    --it;
    const Allocation& a = it->second;
    const auto begin = reinterpret_cast<std::uintptr_t>(a.data);
    return address >= begin && address + bytes <= begin + a.bytes ? &a : nullptr;
}

std::string describe_fault(std::uintptr_t address, bool is_write) {
    const std::string who = current_thread != nullptr ? where(*me()) : std::string("the emulator (no kernel thread)");
    const char* access = is_write ? "write" : "read";
    const std::size_t page = page_size();
    if (address < 64 * 1024) {
        return format("%s at address 0x%" PRIxPTR " by %s: a null pointer dereference (an optional array passed "
                      "as None?)", access, address, who.c_str());
    }
    for (const auto& [start, a] : allocations) {
        const auto data = reinterpret_cast<std::uintptr_t>(a.data);
        const auto end = data + a.bytes;
        const auto map_begin = reinterpret_cast<std::uintptr_t>(a.base);
        const auto map_end = map_begin + a.map_bytes;
        if (address >= end && address < map_end) {
            return format("out-of-bounds %s at byte %zu of a %zu-byte device array (%zu bytes past its end) by %s",
                          access, static_cast<std::size_t>(address - data), a.bytes,
                          static_cast<std::size_t>(address - end), who.c_str());
        }
        if (address >= map_begin && address < data) {
            return format("out-of-bounds %s %zu bytes before the start of a %zu-byte device array by %s", access,
                          static_cast<std::size_t>(data - address), a.bytes, who.c_str());
        }
        if (address >= data && address < end) {
            return format("%s of a read-only device array (a const kernel parameter) by %s", access, who.c_str());
        }
    }
    const auto shared = reinterpret_cast<std::uintptr_t>(gg_dynamic_shared);
    if (address >= shared && address < shared + kSharedWindow) {
        return format("out-of-bounds %s of dynamic shared memory at byte %zu by %s; the launch asked for %zu bytes "
                      "(is the launcher's shared_mem too small, or the kernel's index wrong?)", access,
                      static_cast<std::size_t>(address - shared), who.c_str(), launch_state.shared_bytes);
    }
    for (char* stack : fiber_stacks) {
        const auto low = reinterpret_cast<std::uintptr_t>(stack);
        if (address >= low - page && address < low) {
            return format("stack overflow by %s (each emulated thread has %zu KiB of stack)", who.c_str(),
                          kStackSize / 1024);
        }
    }
    for (const auto& [begin, end] : freed_ranges) {
        if (address >= begin && address < end) {
            return format("%s of a device array that was already freed (use after free) by %s", access, who.c_str());
        }
    }
    return format("%s of invalid address 0x%" PRIxPTR " by %s", access, address, who.c_str());
}

// ---------------------------------------------------------------------------------------------
// Faults during a launch jump back to gg_emu_launch instead of killing the process.

sigjmp_buf fault_jump;
volatile std::uintptr_t fault_address = 0;
volatile int fault_is_write = 0;
alignas(16) char signal_stack[256 * 1024];

void on_fault(int, siginfo_t* info, void* context) {
    fault_address = reinterpret_cast<std::uintptr_t>(info->si_addr);
#if defined(__x86_64__)
    const auto* uc = static_cast<const ucontext_t*>(context);
    fault_is_write = (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0;
#else
    (void)context;
    fault_is_write = 0;
#endif
    siglongjmp(fault_jump, 1);
}

struct FaultHandlers {
    struct sigaction old_segv {}, old_bus {};
    stack_t old_stack{};

    FaultHandlers() {
        stack_t stack{};
        stack.ss_sp = signal_stack;
        stack.ss_size = sizeof signal_stack;
        sigaltstack(&stack, &old_stack);
        struct sigaction action {};
        action.sa_sigaction = on_fault;
        action.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&action.sa_mask);
        sigaction(SIGSEGV, &action, &old_segv);
        sigaction(SIGBUS, &action, &old_bus);
    }

    ~FaultHandlers() {
        sigaction(SIGSEGV, &old_segv, nullptr);
        sigaction(SIGBUS, &old_bus, nullptr);
        sigaltstack(&old_stack, nullptr);
    }
};

// ---------------------------------------------------------------------------------------------
// Barriers and warp collectives.

std::string thread_ranges(const std::vector<int>& linear_ids) {
    std::string text;
    for (std::size_t i = 0; i < linear_ids.size();) {
        std::size_t j = i;
        while (j + 1 < linear_ids.size() && linear_ids[j + 1] == linear_ids[j] + 1) ++j;
        if (!text.empty()) text += ",";
        text += i == j ? format("%d", linear_ids[i]) : format("%d-%d", linear_ids[i], linear_ids[j]);
        i = j + 1;
    }
    return text;
}

// What every thread is doing, grouped: for deadlock and barrier messages.
std::string describe_threads() {
    std::map<std::string, std::vector<int>> groups;
    for (int t = 0; t < launch_state.threads; ++t) {
        const Fiber& f = launch_state.fibers[t];
        std::string what;
        switch (f.state) {
            case State::ready: what = "running"; break;
            case State::done: what = "exited"; break;
            case State::at_barrier: what = "waiting at __syncthreads() (" + site_text(f.site) + ")"; break;
            case State::at_collective:
                what = format("waiting at %s (%s) with mask 0x%08x", collective_name(f.op), site_text(f.site).c_str(),
                              f.mask);
                break;
        }
        groups[what].push_back(t);
    }
    std::string text;
    for (const auto& [what, ids] : groups) text += "; threads " + thread_ranges(ids) + " " + what;
    return text.substr(2);
}

// Where thread t stands in the schedule: forward runs low indices first, reverse high ones.
int schedule_position(int t) { return launch_state.reverse ? launch_state.threads - 1 - t : t; }

Fiber& fiber_at_position(int position) { return launch_state.fibers[schedule_position(position)]; }

// If every lane named in the calling fiber's mask waits at the same collective, compute each
// lane's result and make them all ready again.
void complete_collective_if_ready(Fiber& caller) {
    const int base = caller.warp * kWarpSizeEmu;
    const unsigned mask = caller.mask;
    for (int lane = 0; lane < kWarpSizeEmu; ++lane) {
        if (!((mask >> lane) & 1u)) continue;
        const int t = base + lane;
        const char* name = collective_name(caller.op);
        if (t >= launch_state.threads) {
            fail_in_fiber(kWarpError, format("%s at %s by %s: mask 0x%08x names lane %d, which does not exist (the "
                                             "block has %d threads, not a multiple of 32)", name,
                                             site_text(caller.site).c_str(), where(caller).c_str(), mask, lane,
                                             launch_state.threads));
        }
        const Fiber& other = launch_state.fibers[t];
        if (other.state == State::done) {
            fail_in_fiber(kWarpError, format("%s at %s by %s: mask 0x%08x names lane %d (%s), which has already "
                                             "exited, so the collective can never complete", name,
                                             site_text(caller.site).c_str(), where(caller).c_str(), mask, lane,
                                             where(other).c_str()));
        }
        if (other.state != State::at_collective) return;  // not there yet
        if (other.op != caller.op || other.mask != mask || other.width != caller.width ||
            !same_site(other.site, caller.site)) {
            fail_in_fiber(kWarpError, format("divergent warp collective: %s does %s at %s with mask 0x%08x while %s "
                                             "does %s at %s with mask 0x%08x", where(caller).c_str(), name,
                                             site_text(caller.site).c_str(), mask, where(other).c_str(),
                                             collective_name(other.op), site_text(other.site).c_str(), other.mask));
        }
    }
    unsigned ballot = 0;
    for (int lane = 0; lane < kWarpSizeEmu; ++lane) {
        if (((mask >> lane) & 1u) && launch_state.fibers[base + lane].value != 0) ballot |= 1u << lane;
    }
    const int width = caller.width;
    auto value_of = [&](int lane) -> std::uint64_t {
        // Reading a lane outside the mask is undefined on a GPU: hand back poison (NaN).
        if (lane < 0 || lane >= kWarpSizeEmu || !((mask >> lane) & 1u)) return ~std::uint64_t{0};
        return launch_state.fibers[base + lane].value;
    };
    for (int lane = 0; lane < kWarpSizeEmu; ++lane) {
        if (!((mask >> lane) & 1u)) continue;
        Fiber& f = launch_state.fibers[base + lane];
        const int segment = lane & ~(width - 1);
        const int in_segment = lane & (width - 1);
        switch (caller.op) {
            case Collective::shfl: f.result = value_of(segment + (f.lane_arg & (width - 1))); break;
            case Collective::shfl_up:
                f.result = in_segment >= f.lane_arg ? value_of(lane - f.lane_arg) : f.value;
                break;
            case Collective::shfl_down:
                f.result = in_segment + f.lane_arg < width ? value_of(lane + f.lane_arg) : f.value;
                break;
            case Collective::shfl_xor: {
                const int source = lane ^ f.lane_arg;
                f.result = (source & ~(width - 1)) > segment || source >= kWarpSizeEmu ? f.value : value_of(source);
                break;
            }
            case Collective::ballot: f.result = ballot; break;
            case Collective::any: f.result = ballot != 0; break;
            case Collective::all: f.result = ballot == mask; break;
            case Collective::syncwarp: f.result = 0; break;
        }
        f.state = State::ready;
        launch_state.lowest_released = std::min(launch_state.lowest_released, schedule_position(base + lane));
    }
}

bool fail_in_scheduler(int kind, const std::string& message) {
    record_error(kind, message);
    return false;
}

// Runs one block to completion; false (with the error recorded) on a deadlock or a broken barrier.
//
// The schedule always resumes the first ready fiber in schedule order, so a fiber runs until it
// blocks and the threads ahead in the order run as far as they can before the others start: each
// warp gets as far ahead of the later warps as the barriers allow. That is the most skewed
// interleaving a GPU could produce, and what a missing barrier needs to show: the early warps
// overwrite shared memory the late ones have not read yet, or read what those have not written
// (the poison). Forward and reverse order catch the two directions.
bool run_block() {
    const int threads = launch_state.threads;
    const std::size_t page = page_size();
    for (int t = 0; t < threads; ++t) {
        Fiber& f = launch_state.fibers[t];
        f.thread_idx = {t % block_dim.x, (t / block_dim.x) % block_dim.y, t / (block_dim.x * block_dim.y)};
        f.linear = t;
        f.lane = t % kWarpSizeEmu;
        f.warp = t / kWarpSizeEmu;
        f.state = State::ready;
        if (f.stack == nullptr) {
            auto* mapping = static_cast<char*>(mmap(nullptr, kStackSize + page, PROT_READ | PROT_WRITE,
                                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
            if (mapping == MAP_FAILED) return fail_in_scheduler(kLaunchError, "out of memory for fiber stacks");
            mprotect(mapping, page, PROT_NONE);  // overflow guard
            f.stack = mapping + page;
            fiber_stacks.push_back(f.stack);
        }
        make_context(f.context, f.stack, kStackSize, fiber_main);
    }
    int cursor = 0;  // no fiber before this schedule position is ready
    for (;;) {
        while (cursor < threads && fiber_at_position(cursor).state != State::ready) ++cursor;
        if (cursor < threads) {
            Fiber& f = fiber_at_position(cursor);
            launch_state.lowest_released = threads;
            current_thread = &f;
            switch_context(launch_state.scheduler, f.context);
            current_thread = nullptr;
            if (launch_state.error_kind != kOk) return false;
            cursor = std::min(cursor, launch_state.lowest_released);
            continue;
        }
        int exited = 0;
        std::vector<int> waiting;
        for (int t = 0; t < threads; ++t) {
            const Fiber& f = launch_state.fibers[t];
            if (f.state == State::done) ++exited;
            if (f.state == State::at_barrier) waiting.push_back(t);
        }
        if (exited == threads) return true;
        if (waiting.empty() || static_cast<int>(waiting.size()) != threads - exited) {
            return fail_in_scheduler(kBarrierError, format("deadlock in block (%u,%u,%u): ", block_idx.x, block_idx.y,
                                                           block_idx.z) + describe_threads());
        }
        if (exited > 0) {
            return fail_in_scheduler(kBarrierError, "__syncthreads() not reached by every thread of block " +
                                                        format("(%u,%u,%u): ", block_idx.x, block_idx.y, block_idx.z) +
                                                        describe_threads() + " (a barrier in code that some threads "
                                                        "skip is undefined behaviour on a GPU: it may hang or "
                                                        "corrupt results)");
        }
        const Fiber& first = launch_state.fibers[waiting.front()];
        for (int t : waiting) {
            if (!same_site(launch_state.fibers[t].site, first.site)) {
                return fail_in_scheduler(kBarrierError, "threads of one block wait at different __syncthreads() "
                                                        "calls: " + describe_threads());
            }
        }
        for (int t : waiting) launch_state.fibers[t].state = State::ready;
        cursor = 0;
    }
}

// ---------------------------------------------------------------------------------------------
// Launch checks: configuration limits of every CUDA GPU since Volta, and arguments.

bool check_configuration(const dim3& grid, const dim3& block, std::size_t shared_bytes) {
    if (grid.x == 0 || grid.y == 0 || grid.z == 0 || block.x == 0 || block.y == 0 || block.z == 0) {
        return fail_in_scheduler(kLaunchError, format("invalid configuration argument: grid (%u,%u,%u), block "
                                                      "(%u,%u,%u); no dimension may be 0 (skip the launch when "
                                                      "there is no work)", grid.x, grid.y, grid.z, block.x, block.y,
                                                      block.z));
    }
    if (grid.x > 2147483647u || grid.y > 65535u || grid.z > 65535u) {
        return fail_in_scheduler(kLaunchError, format("invalid configuration argument: grid (%u,%u,%u) exceeds "
                                                      "(2^31-1, 65535, 65535)", grid.x, grid.y, grid.z));
    }
    const unsigned long long threads = 1ull * block.x * block.y * block.z;
    if (block.x > 1024 || block.y > 1024 || block.z > 64 || threads > 1024) {
        return fail_in_scheduler(kLaunchError, format("invalid configuration argument: block (%u,%u,%u) has %llu "
                                                      "threads; at most 1024 (and z <= 64)", block.x, block.y,
                                                      block.z, threads));
    }
    if (shared_bytes > kMaxDynamicShared) {
        return fail_in_scheduler(kLaunchError, format("too many resources requested for launch: %zu bytes of "
                                                      "dynamic shared memory, more than the %zu available without "
                                                      "cudaFuncSetAttribute", shared_bytes, kMaxDynamicShared));
    }
    return true;
}

bool check_arguments(const KernelEntry& kernel, int count, const char* const* types, const std::uint64_t* values,
                     std::vector<const Allocation*>* make_read_only) {
    const auto& expected = kernel.parameter_types;
    if (count != static_cast<int>(expected.size())) {
        return fail_in_scheduler(kArgumentError, format("%d arguments given, the kernel takes %zu: %s", count,
                                                        expected.size(), kernel.signature.c_str()));
    }
    std::vector<const Allocation*> read, written;
    for (int i = 0; i < count; ++i) {
        const std::string given = types[i];
        const std::string& want = expected[i];
        const bool pointer = want.back() == '*';
        if (pointer && given == "null") {
            if (values[i] != 0) return fail_in_scheduler(kArgumentError, format("argument %d: null with a value", i));
            continue;
        }
        if (given != want) {
            std::string hint;
            if (!pointer && (given == "float64" || given == "int64")) {
                hint = " (CuPy passes a Python float as float64 and a Python int as int64: wrap the value in the "
                       "numpy scalar type of the parameter, e.g. numpy.float32(x))";
            }
            return fail_in_scheduler(kArgumentError, format("argument %d has type %s but the kernel expects %s%s; "
                                                            "signature: %s", i, given.c_str(), want.c_str(),
                                                            hint.c_str(), kernel.signature.c_str()));
        }
        if (!pointer) continue;
        const Allocation* a = allocation_containing(static_cast<std::uintptr_t>(values[i]), 0);
        if (a == nullptr) {
            return fail_in_scheduler(kArgumentError, format("argument %d (%s) points to 0x%" PRIx64 ", which is not "
                                                            "in any live device array (a host array?)", i,
                                                            want.c_str(), values[i]));
        }
        (kernel.parameter_read_only[i] ? read : written).push_back(a);
    }
    // const T* parameters become read-only for the launch, unless a writable parameter shares the array.
    for (const Allocation* a : read) {
        if (a->bytes > 0 && std::find(written.begin(), written.end(), a) == written.end()) make_read_only->push_back(a);
    }
    return true;
}

void protect(const Allocation* a, int protection) {
    const std::size_t page = page_size();
    const auto begin = reinterpret_cast<std::uintptr_t>(a->data) / page * page;
    const auto end = round_up(reinterpret_cast<std::uintptr_t>(a->data) + a->bytes, page);
    mprotect(reinterpret_cast<void*>(begin), end - begin, protection);
}

const KernelEntry* find_kernel(const char* name) {
    for (const KernelEntry& k : kernel_table()) {
        if (k.name == name) return &k;
    }
    return nullptr;
}

// Runs every block of the launch; returns with launch_state.error_kind set on failure.
void run_grid(const dim3& grid, bool reverse) {
    const std::size_t accessible = round_up(launch_state.shared_bytes, page_size());
    mprotect(gg_dynamic_shared, accessible, PROT_READ | PROT_WRITE);
    mprotect(gg_dynamic_shared + accessible, kSharedWindow - accessible, PROT_NONE);
    FaultHandlers handlers;
    if (sigsetjmp(fault_jump, 1) != 0) {
        record_error(kMemoryFault, describe_fault(fault_address, fault_is_write != 0));
        return;
    }
    const unsigned long long blocks = 1ull * grid.x * grid.y * grid.z;
    for (unsigned long long i = 0; i < blocks; ++i) {
        const unsigned long long linear = reverse ? blocks - 1 - i : i;
        block_idx = {static_cast<unsigned>(linear % grid.x), static_cast<unsigned>(linear / grid.x % grid.y),
                     static_cast<unsigned>(linear / (1ull * grid.x * grid.y))};
        std::memset(gg_dynamic_shared, kPoison, accessible);
        if (!run_block()) return;
        for (std::size_t k = launch_state.shared_bytes; k < accessible; ++k) {
            if (gg_dynamic_shared[k] != kPoison) {
                record_error(kMemoryFault, format("block (%u,%u,%u) wrote byte %zu of dynamic shared memory, past the "
                                                  "%zu bytes the launch asked for (is the launcher's shared_mem too "
                                                  "small?)", block_idx.x, block_idx.y, block_idx.z, k,
                                                  launch_state.shared_bytes));
                return;
            }
        }
    }
}

}  // namespace

void register_kernel(const char* name, std::vector<std::string> parameter_types,
                     std::vector<bool> parameter_read_only, KernelBinder binder) {
    std::string signature = std::string(name) + "(";
    for (std::size_t i = 0; i < parameter_types.size(); ++i) {
        signature += (i ? ", " : "") + std::string(parameter_read_only[i] ? "const " : "") + parameter_types[i];
    }
    signature += ")";
    kernel_table().push_back({name, std::move(parameter_types), std::move(parameter_read_only), std::move(binder),
                             std::move(signature)});
}

void syncthreads(Site site) {
    Fiber* f = me();
    f->state = State::at_barrier;
    f->site = site;
    yield_to_scheduler();
}

std::uint64_t warp_collective(Site site, Collective op, unsigned mask, std::uint64_t value, int lane_arg, int width) {
    Fiber* f = me();
    if (width < 1 || width > kWarpSizeEmu || (width & (width - 1)) != 0) {
        fail_in_fiber(kWarpError, format("%s at %s: width %d is not a power of two <= 32", collective_name(op),
                                         site_text(site).c_str(), width));
    }
    if (!((mask >> f->lane) & 1u)) {
        fail_in_fiber(kWarpError, format("%s at %s by %s: mask 0x%08x does not include the calling lane %d",
                                         collective_name(op), site_text(site).c_str(), where(*f).c_str(), mask,
                                         f->lane));
    }
    f->state = State::at_collective;
    f->site = site;
    f->op = op;
    f->mask = mask;
    f->value = value;
    f->lane_arg = lane_arg;
    f->width = width;
    complete_collective_if_ready(*f);
    if (f->state == State::at_collective) yield_to_scheduler();
    return f->result;
}

}  // namespace gg_emu

// ---------------------------------------------------------------------------------------------
// The C API that backend.py calls through ctypes.

extern "C" {

void* gg_emu_malloc(unsigned long long bytes) {
    using namespace gg_emu;
    const std::size_t page = page_size();
    const std::size_t data_pages = round_up(bytes, page) / page;
    const std::size_t map_bytes = (data_pages + 2) * page;  // a guard page below and above
    auto* base = static_cast<char*>(mmap(nullptr, map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                                         -1, 0));
    if (base == MAP_FAILED) return nullptr;
    mprotect(base, page, PROT_NONE);
    mprotect(base + (data_pages + 1) * page, page, PROT_NONE);
    std::memset(base + page, kPoison, data_pages * page);  // poison: reading what nobody wrote gives NaN
    char* data = base + (data_pages + 1) * page - bytes;  // ends right at the upper guard
    allocations[reinterpret_cast<std::uintptr_t>(data)] = {base, map_bytes, data, static_cast<std::size_t>(bytes)};
    return data;
}

int gg_emu_free(void* data) {
    using namespace gg_emu;
    auto it = allocations.find(reinterpret_cast<std::uintptr_t>(data));
    if (it == allocations.end()) return 1;
    const Allocation a = it->second;
    allocations.erase(it);
    munmap(a.base, a.map_bytes);
    freed_ranges.emplace_back(reinterpret_cast<std::uintptr_t>(a.base), reinterpret_cast<std::uintptr_t>(a.base) +
                                                                             a.map_bytes);
    if (freed_ranges.size() > 4096) freed_ranges.erase(freed_ranges.begin(), freed_ranges.begin() + 2048);
    return 0;
}

int gg_emu_is_device_range(const void* address, unsigned long long bytes) {
    return gg_emu::allocation_containing(reinterpret_cast<std::uintptr_t>(address), bytes) != nullptr;
}

int gg_emu_kernel_count() { return static_cast<int>(gg_emu::kernel_table().size()); }

const char* gg_emu_kernel_name(int index) { return gg_emu::kernel_table().at(index).name.c_str(); }

const char* gg_emu_kernel_signature(int index) { return gg_emu::kernel_table().at(index).signature.c_str(); }

const char* gg_emu_last_error() { return gg_emu::last_error.c_str(); }

// Returns 0, or an error kind (1 launch configuration, 2 arguments, 3 barrier/deadlock, 4 warp
// collective, 5 memory) with the message in gg_emu_last_error().
int gg_emu_launch(const char* name, const unsigned* grid, const unsigned* block, unsigned long long shared_bytes,
                  int count, const char* const* types, const std::uint64_t* values, int reverse) {
    using namespace gg_emu;
    launch_state.error_kind = kOk;
    launch_state.error.clear();
    launch_state.kernel_name = name;
    const KernelEntry* kernel = find_kernel(name);
    const dim3 grid_size(grid[0], grid[1], grid[2]);
    const dim3 block_size(block[0], block[1], block[2]);
    std::vector<const Allocation*> read_only;
    if (kernel == nullptr) {
        record_error(kArgumentError, "no such kernel in the emulator library (is it in the catalog?)");
    } else if (check_configuration(grid_size, block_size, shared_bytes) &&
               check_arguments(*kernel, count, types, values, &read_only)) {
        launch_state.body = kernel->binder(values);
        launch_state.threads = static_cast<int>(block_size.x * block_size.y * block_size.z);
        if (static_cast<int>(launch_state.fibers.size()) < launch_state.threads) {
            launch_state.fibers.resize(launch_state.threads);
        }
        launch_state.shared_bytes = shared_bytes;
        launch_state.reverse = reverse != 0;
        grid_dim = grid_size;
        block_dim = block_size;
        for (const Allocation* a : read_only) protect(a, PROT_READ);
        run_grid(grid_size, reverse != 0);
        for (const Allocation* a : read_only) protect(a, PROT_READ | PROT_WRITE);
        launch_state.body = nullptr;
        current_thread = nullptr;
    }
    last_error = launch_state.error;
    return launch_state.error_kind;
}

}  // extern "C"
