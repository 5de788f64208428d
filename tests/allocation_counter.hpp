#pragma once
// Counts every allocation of the test program that includes it, so that the
// "allocates nothing" promises can be checked. Replaces the global operator
// new/delete, so include it from exactly one file per test executable. The
// replacement forwards to malloc/free, which the sanitizers still see.

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

inline std::atomic<long> allocation_count{0};

void* operator new(std::size_t size) {
    allocation_count.fetch_add(1, std::memory_order_relaxed);
    if (void* memory = std::malloc(size == 0 ? 1 : size)) {
        return memory;
    }
    throw std::bad_alloc();
}

// g++ 12 at -O2 inlines this replacement into callers and then flags the malloc/free pair it can no longer match to
// new/delete (-Wmismatched-new-delete); the pairing is correct by construction here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }
#pragma GCC diagnostic pop
