#pragma once
// The lock that guards each callback list. Critical sections are a handful of
// pointer writes (callbacks never run under it), so spinning beats a futex.

#include <atomic>
#include <thread>

namespace halt::detail {

/// Tells the core it is spinning, so a hyper-thread sibling gets the pipeline.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

class spin_lock {
public:
    /// One exchange when free; never blocks. Acquire on success so the list
    /// written by the previous holder is visible.
    bool try_lock() noexcept {
        return !locked_.load(std::memory_order_relaxed) &&
               !locked_.exchange(true, std::memory_order_acquire);
    }

    void lock() noexcept {
        if (!locked_.exchange(true, std::memory_order_acquire)) return;
        lock_contended();
    }

    /// Acquire: a false result synchronises with the unlock it read.
    bool is_locked() const noexcept { return locked_.load(std::memory_order_acquire); }

    /// Release: publishes the list changes made under the lock.
    void unlock() noexcept { locked_.store(false, std::memory_order_release); }

private:
    void lock_contended() noexcept {
        for (unsigned spins = 0;; ++spins) {
            // Spin on a plain load so waiters share the cache line instead of
            // bouncing it with failed exchanges.
            while (locked_.load(std::memory_order_relaxed)) {
                if (spins < 64) {
                    cpu_relax();
                    ++spins;
                } else {
                    std::this_thread::yield();
                }
            }
            if (!locked_.exchange(true, std::memory_order_acquire)) return;
        }
    }

    std::atomic<bool> locked_{false};
};

}  // namespace halt::detail
