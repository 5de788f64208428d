// Counts every heap allocation made by the program that includes this header, so a benchmark can report
// "allocs/op" and "bytes/op" next to its time.
//
// This header DEFINES the replaceable global operator new / operator delete: include it from exactly one
// translation unit per executable (each bench program is a single .cpp, so that is its main file).
//
// Why not one shared atomic counter: an uncontended `lock xadd` costs several nanoseconds, which would tax
// the peers that allocate (std::stop_source, Asio handlers) by a visible fraction of their time. Instead each
// thread owns a cache-line-sized slot that only it writes (relaxed load + relaxed store: no locked
// instruction, no lost updates because there is one writer); readers sum all slots with relaxed loads. Threads
// beyond the slot table fall back to one shared slot updated with relaxed fetch_add, which is still exact.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace halt_bench::alloc {

struct alignas(64) counter_slot {
    std::atomic<std::uint64_t> calls{0};
    std::atomic<std::uint64_t> bytes{0};
};

inline constexpr unsigned slot_count = 1024;
inline counter_slot slots[slot_count];
inline counter_slot shared_slot;
inline std::atomic<unsigned> slots_claimed{0};
// Constant-initialized and trivially destructible: no TLS wrapper call, safe during thread teardown.
inline thread_local counter_slot* this_thread_slot = nullptr;
// This thread's own totals, read only by this thread (for per-thread deltas in multi-threaded benchmarks,
// where other threads' harness allocations must not be billed to the measured loop).
inline thread_local std::uint64_t this_thread_calls = 0;
inline thread_local std::uint64_t this_thread_bytes = 0;

inline counter_slot* claim_slot() noexcept {
    const unsigned index = slots_claimed.fetch_add(1, std::memory_order_relaxed);
    return index < slot_count ? &slots[index] : &shared_slot;
}

inline void record(std::size_t size) noexcept {
    ++this_thread_calls;
    this_thread_bytes += size;
    counter_slot* slot = this_thread_slot;
    if (slot == nullptr) {
        slot = claim_slot();
        this_thread_slot = slot;
    }
    if (slot == &shared_slot) {
        slot->calls.fetch_add(1, std::memory_order_relaxed);
        slot->bytes.fetch_add(size, std::memory_order_relaxed);
    } else {
        // Single writer: a plain read-modify-write through relaxed atomics is exact and has no lock prefix.
        slot->calls.store(slot->calls.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        slot->bytes.store(slot->bytes.load(std::memory_order_relaxed) + size, std::memory_order_relaxed);
    }
}

/// Totals over every thread of the process (a background timer thread's allocations count too).
struct snapshot {
    std::uint64_t calls = 0;
    std::uint64_t bytes = 0;

    friend snapshot operator-(const snapshot& a, const snapshot& b) noexcept {
        return {a.calls - b.calls, a.bytes - b.bytes};
    }
    snapshot& operator+=(const snapshot& other) noexcept {
        calls += other.calls;
        bytes += other.bytes;
        return *this;
    }
};

inline snapshot now() noexcept {
    snapshot total;
    unsigned claimed = slots_claimed.load(std::memory_order_relaxed);
    if (claimed > slot_count) claimed = slot_count;
    for (unsigned i = 0; i < claimed; ++i) {
        total.calls += slots[i].calls.load(std::memory_order_relaxed);
        total.bytes += slots[i].bytes.load(std::memory_order_relaxed);
    }
    total.calls += shared_slot.calls.load(std::memory_order_relaxed);
    total.bytes += shared_slot.bytes.load(std::memory_order_relaxed);
    return total;
}

/// Totals of the calling thread only.
inline snapshot this_thread() noexcept { return {this_thread_calls, this_thread_bytes}; }

}  // namespace halt_bench::alloc

// ---- replaceable global allocation functions ----------------------------------------------------------------

namespace halt_bench::alloc::detail {

inline void* allocate(std::size_t size) {
    if (size == 0) size = 1;
    for (;;) {
        if (void* p = std::malloc(size)) {
            record(size);
            return p;
        }
        std::new_handler handler = std::get_new_handler();
        if (handler == nullptr) throw std::bad_alloc();
        handler();
    }
}

inline void* allocate_aligned(std::size_t size, std::align_val_t alignment) {
    const auto align = static_cast<std::size_t>(alignment);
    if (size == 0) size = 1;
    // aligned_alloc wants a size that is a multiple of the alignment.
    const std::size_t rounded = (size + align - 1) / align * align;
    for (;;) {
        if (void* p = std::aligned_alloc(align, rounded)) {
            record(size);
            return p;
        }
        std::new_handler handler = std::get_new_handler();
        if (handler == nullptr) throw std::bad_alloc();
        handler();
    }
}

}  // namespace halt_bench::alloc::detail

void* operator new(std::size_t size) { return halt_bench::alloc::detail::allocate(size); }
void* operator new[](std::size_t size) { return halt_bench::alloc::detail::allocate(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    try {
        return halt_bench::alloc::detail::allocate(size);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
    try {
        return halt_bench::alloc::detail::allocate(size);
    } catch (...) {
        return nullptr;
    }
}
void* operator new(std::size_t size, std::align_val_t alignment) {
    return halt_bench::alloc::detail::allocate_aligned(size, alignment);
}
void* operator new[](std::size_t size, std::align_val_t alignment) {
    return halt_bench::alloc::detail::allocate_aligned(size, alignment);
}
void* operator new(std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
    try {
        return halt_bench::alloc::detail::allocate_aligned(size, alignment);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
    try {
        return halt_bench::alloc::detail::allocate_aligned(size, alignment);
    } catch (...) {
        return nullptr;
    }
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
