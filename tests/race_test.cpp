// Races: cancel against register, unregister, destroy, move, link and wait, from two or three threads at once.
//
// Each test runs rounds of one scenario. A round builds fresh state on one thread, releases every participant at once
// through a std::barrier, and checks the invariants on one thread after all have finished. The loop is bounded by a
// round count AND by wall time, so it stays short under ThreadSanitizer. Everything shared is a std::atomic or is
// ordered by the barrier, so TSan sees each happens-before edge; nothing sleeps.

#include <halt/halt.hpp>

#include <gtest/gtest.h>

#include "bounded_wait.hpp"

#include <array>
#include <atomic>
#include <barrier>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

struct race_limits {
    int max_rounds = 2000;
    std::chrono::milliseconds time_limit{1000};
};

// Runs rounds of a scenario on `participants` threads (the calling thread is participant 0). In each round
// `prepare()` runs alone, then every participant runs `act(index)` at once, then `check()` runs alone. Returns the
// number of rounds completed.
template <class Prepare, class Act, class Check>
int run_rounds(int participants, Prepare prepare, Act act, Check check, race_limits limits = {}) {
    const auto give_up = clock_type::now() + limits.time_limit;
    int rounds = 0;
    bool stop = false;       // written in the completion step; the barrier orders it before every read
    bool preparing = true;   // likewise
    auto between_phases = [&]() noexcept {
        if (preparing) {
            if (rounds >= limits.max_rounds || (rounds > 0 && clock_type::now() >= give_up)) {
                stop = true;
            } else {
                prepare();
            }
        } else {
            check();
            ++rounds;
        }
        preparing = !preparing;
    };
    std::barrier sync(participants, between_phases);
    auto participant = [&](int index) {
        for (;;) {
            sync.arrive_and_wait();
            if (stop) {
                return;
            }
            act(index);
            sync.arrive_and_wait();
        }
    };
    std::vector<std::thread> threads;
    for (int index = 1; index < participants; ++index) {
        threads.emplace_back(participant, index);
    }
    participant(0);
    for (std::thread& thread : threads) {
        thread.join();
    }
    return rounds;
}

// Waits for a counter to reach a value, bounded, for callbacks that may still be finishing on the timer thread.
bool wait_for_count(const std::atomic<int>& counter, int expected, std::chrono::milliseconds limit) {
    return wait_until_true([&] { return counter.load() == expected; }, limit);
}

// Tracks one callback: how often it ran, and whether it ever ran after its registration's destructor returned.
struct tracked_callback {
    std::atomic<int> runs{0};
    std::atomic<bool> destructor_returned{false};
    std::atomic<int> ran_after_destructor{0};

    void reset() {
        runs = 0;
        destructor_returned = false;
        ran_after_destructor = 0;
    }

    // The callable registered for this tracker; two pointers at most, so registering does not allocate.
    auto function() {
        return [this] {
            if (destructor_returned.load()) {
                ran_after_destructor.fetch_add(1);
            }
            runs.fetch_add(1);
            if (destructor_returned.load()) {
                ran_after_destructor.fetch_add(1);
            }
        };
    }
};

TEST(Race, CancelVersusRegister) {
    constexpr int per_round = 4;
    std::optional<halt::source> source;
    halt::token token;
    std::array<tracked_callback, per_round> callbacks;
    std::array<halt::registration, per_round> registrations;
    int violations = 0;
    const int rounds = run_rounds(
        2,
        [&] {
            for (halt::registration& registration : registrations) {
                registration = halt::registration();
            }
            source.emplace();
            token = source->token();
            for (tracked_callback& callback : callbacks) {
                callback.reset();
            }
        },
        [&](int index) {
            if (index == 0) {
                source->cancel();
            } else {
                for (int slot = 0; slot < per_round; ++slot) {
                    registrations[slot] = token.on_cancel(callbacks[slot].function());
                }
            }
        },
        [&] {
            // Registered before cancel: ran during cancel; after: ran at registration. Either way exactly once.
            for (const tracked_callback& callback : callbacks) {
                if (callback.runs.load() != 1) {
                    ++violations;
                }
            }
        });
    EXPECT_EQ(violations, 0) << "over " << rounds << " rounds";
}

TEST(Race, CancelVersusUnregister) {
    std::optional<halt::source> source;
    tracked_callback callback;
    halt::registration registration;
    bool unregistered = false;
    int violations = 0;
    int unregistered_rounds = 0;
    const int rounds = run_rounds(
        2,
        [&] {
            registration = halt::registration();
            callback.reset();
            source.emplace();
            registration = source->token().on_cancel(callback.function());
        },
        [&](int index) {
            if (index == 0) {
                source->cancel();
            } else {
                unregistered = registration.unregister();
            }
        },
        [&] {
            // true: it never runs. false: it ran (cancel has returned by now, so it finished).
            if (callback.runs.load() != (unregistered ? 0 : 1)) {
                ++violations;
            }
            unregistered_rounds += unregistered ? 1 : 0;
        });
    EXPECT_EQ(violations, 0) << "over " << rounds << " rounds, " << unregistered_rounds << " unregistered first";
}

TEST(Race, CancelVersusRegistrationDestructor) {
    std::optional<halt::source> source;
    tracked_callback callback;
    std::optional<halt::registration> registration;
    int violations = 0;
    const int rounds = run_rounds(
        2,
        [&] {
            registration.reset();
            callback.reset();
            source.emplace();
            registration.emplace(source->token().on_cancel(callback.function()));
        },
        [&](int index) {
            if (index == 0) {
                source->cancel();
            } else {
                registration.reset();
                callback.destructor_returned = true;
            }
        },
        [&] {
            if (callback.runs.load() > 1 || callback.ran_after_destructor.load() != 0) {
                ++violations;
            }
        });
    EXPECT_EQ(violations, 0) << "over " << rounds << " rounds";
}

TEST(Race, CancelVersusCallbackDestructor) {
    std::optional<halt::source> source;
    tracked_callback tracker;
    using callback_type = halt::callback<decltype(tracker.function())>;
    std::optional<callback_type> callback;
    int violations = 0;
    const int rounds = run_rounds(
        2,
        [&] {
            callback.reset();
            tracker.reset();
            source.emplace();
            callback.emplace(source->token(), tracker.function());
        },
        [&](int index) {
            if (index == 0) {
                source->cancel();
            } else {
                callback.reset();
                tracker.destructor_returned = true;
            }
        },
        [&] {
            if (tracker.runs.load() > 1 || tracker.ran_after_destructor.load() != 0) {
                ++violations;
            }
        });
    EXPECT_EQ(violations, 0) << "over " << rounds << " rounds";
}

TEST(Race, CancelVersusRegisterUnregisterAndDestroy) {
    // Thread 0 cancels; thread 1 registers a callback and unregisters it at once; thread 2 destroys a registration
    // made before the round. A third registration, made before the round and kept, must run exactly once.
    std::optional<halt::source> source;
    halt::token token;
    tracked_callback registered_in_round;
    tracked_callback destroyed;
    tracked_callback kept;
    halt::registration in_round;
    std::optional<halt::registration> to_destroy;
    halt::registration keeper;
    bool unregistered = false;
    int violations = 0;
    const int rounds = run_rounds(
        3,
        [&] {
            in_round = halt::registration();
            to_destroy.reset();
            keeper = halt::registration();
            registered_in_round.reset();
            destroyed.reset();
            kept.reset();
            source.emplace();
            token = source->token();
            to_destroy.emplace(token.on_cancel(destroyed.function()));
            keeper = token.on_cancel(kept.function());
        },
        [&](int index) {
            if (index == 0) {
                source->cancel();
            } else if (index == 1) {
                in_round = token.on_cancel(registered_in_round.function());
                unregistered = in_round.unregister();
            } else {
                to_destroy.reset();
                destroyed.destructor_returned = true;
            }
        },
        [&] {
            if (registered_in_round.runs.load() != (unregistered ? 0 : 1)) {
                ++violations;
            }
            if (destroyed.runs.load() > 1 || destroyed.ran_after_destructor.load() != 0) {
                ++violations;
            }
            if (kept.runs.load() != 1) {
                ++violations;
            }
        });
    EXPECT_EQ(violations, 0) << "over " << rounds << " rounds";
}

TEST(Race, RegisterAndUnregisterFromTwoThreadsWhileAThirdCancels) {
    // Many registrations from two threads at once also drive the state into its contended (sharded) mode.
    constexpr int per_thread = 16;
    std::optional<halt::source> source;
    halt::token token;
    std::array<std::array<tracked_callback, per_thread>, 2> callbacks;
    std::array<std::array<halt::registration, per_thread>, 2> registrations;
    std::array<std::array<bool, per_thread>, 2> unregistered{};
    std::array<tracked_callback, 2> kept;
    std::array<halt::registration, 2> keepers;
    int violations = 0;
    const int rounds = run_rounds(
        3,
        [&] {
            for (auto& row : registrations) {
                for (halt::registration& registration : row) {
                    registration = halt::registration();
                }
            }
            for (halt::registration& keeper : keepers) {
                keeper = halt::registration();
            }
            for (auto& row : callbacks) {
                for (tracked_callback& callback : row) {
                    callback.reset();
                }
            }
            for (tracked_callback& callback : kept) {
                callback.reset();
            }
            source.emplace();
            token = source->token();
        },
        [&](int index) {
            if (index == 0) {
                source->cancel();
                return;
            }
            const int row = index - 1;
            for (int slot = 0; slot < per_thread; ++slot) {
                registrations[row][slot] = token.on_cancel(callbacks[row][slot].function());
                if (slot % 2 == 0) {
                    unregistered[row][slot] = registrations[row][slot].unregister();
                } else {
                    unregistered[row][slot] = false;
                }
            }
            keepers[row] = token.on_cancel(kept[row].function());
        },
        [&] {
            for (int row = 0; row < 2; ++row) {
                for (int slot = 0; slot < per_thread; ++slot) {
                    if (callbacks[row][slot].runs.load() != (unregistered[row][slot] ? 0 : 1)) {
                        ++violations;
                    }
                }
                if (kept[row].runs.load() != 1) {
                    ++violations;
                }
            }
        },
        race_limits{1000, std::chrono::milliseconds(1000)});
    EXPECT_EQ(violations, 0) << "over " << rounds << " rounds";
}

TEST(Race, EveryCallbackRegisteredBeforeCancelRunsOnceWhileAnotherThreadUnregistersHalf) {
    constexpr int count = 8;
    std::optional<halt::source> source;
    std::array<tracked_callback, count> callbacks;
    std::array<halt::registration, count> registrations;
    std::array<bool, count> unregistered{};
    int violations = 0;
    const int rounds = run_rounds(
        2,
        [&] {
            for (halt::registration& registration : registrations) {
                registration = halt::registration();
            }
            for (tracked_callback& callback : callbacks) {
                callback.reset();
            }
            unregistered.fill(false);
            source.emplace();
            for (int slot = 0; slot < count; ++slot) {
                registrations[slot] = source->token().on_cancel(callbacks[slot].function());
            }
        },
        [&](int index) {
            if (index == 0) {
                source->cancel();
            } else {
                for (int slot = 0; slot < count; slot += 2) {
                    unregistered[slot] = registrations[slot].unregister();
                }
            }
        },
        [&] {
            for (int slot = 0; slot < count; ++slot) {
                if (callbacks[slot].runs.load() != (unregistered[slot] ? 0 : 1)) {
                    ++violations;
                }
            }
        });
    EXPECT_EQ(violations, 0) << "over " << rounds << " rounds";
}

TEST(Race, ConcurrentCancelsAgreeOnOneWinnerAndOneReason) {
    const std::error_code reasons[2] = {halt::make_error_code(halt::errc::shutting_down),
                                        halt::make_error_code(halt::errc::client_disconnected)};
    std::optional<halt::source> source;
    std::array<bool, 2> won{};
    std::atomic<int> runs{0};
    std::atomic<int> wrong_reason{0};
    halt::registration registration;
    int violations = 0;
    const int rounds = run_rounds(
        2,
        [&] {
            registration = halt::registration();
            runs = 0;
            wrong_reason = 0;
            source.emplace();
            registration = source->token().on_cancel([&runs, &wrong_reason, token = source->token()](
                                                         std::error_code reason) {
                if (reason != token.reason()) {
                    wrong_reason.fetch_add(1);
                }
                runs.fetch_add(1);
            });
        },
        [&](int index) { won[index] = source->cancel(reasons[index]); },
        [&] {
            if (won[0] == won[1]) {
                ++violations;  // exactly one call cancels
            }
            const std::error_code winner_reason = won[0] ? reasons[0] : reasons[1];
            if (source->token().reason() != winner_reason || runs.load() != 1 || wrong_reason.load() != 0) {
                ++violations;
            }
        });
    EXPECT_EQ(violations, 0) << "over " << rounds << " rounds";
}

TEST(Race, CancelVersusMoveOfAQueuedRegistration) {
    std::optional<halt::source> source;
    tracked_callback callback;
    halt::registration original;
    halt::registration moved;
    int violations = 0;
    const int rounds = run_rounds(
        2,
        [&] {
            original = halt::registration();
            moved = halt::registration();
            callback.reset();
            source.emplace();
            original = source->token().on_cancel(callback.function());
        },
        [&](int index) {
            if (index == 0) {
                source->cancel();
            } else {
                moved = std::move(original);
            }
        },
        [&] {
            if (callback.runs.load() != 1) {
                ++violations;
            }
        });
    EXPECT_EQ(violations, 0) << "over " << rounds << " rounds";
}

TEST(Race, LinkingVersusParentCancel) {
    // Whether the link is made before or after the parent cancels, the child must end up cancelled with its reason.
    std::optional<halt::source> parent;
    std::optional<halt::source> child;
    tracked_callback callback;
    halt::registration registration;
    int violations = 0;
    const int rounds = run_rounds(
        2,
        [&] {
            registration = halt::registration();
            child.reset();
            callback.reset();
            parent.emplace();
        },
        [&](int index) {
            if (index == 0) {
                parent->cancel(halt::errc::shutting_down);
            } else {
                child.emplace(halt::source::linked(parent->token()));
                registration = child->token().on_cancel(callback.function());
            }
        },
        [&] {
            if (!child->is_cancellation_requested() || child->token().reason() != halt::errc::shutting_down ||
                callback.runs.load() != 1) {
                ++violations;
            }
        });
    EXPECT_EQ(violations, 0) << "over " << rounds << " rounds";
}

TEST(Race, LinkedSourceDestroyedWhileParentCancels) {
    std::optional<halt::source> parent;
    std::optional<halt::source> child;
    tracked_callback callback;
    halt::registration registration;
    int violations = 0;
    const int rounds = run_rounds(
        2,
        [&] {
            registration = halt::registration();
            child.reset();
            callback.reset();
            parent.emplace();
            child.emplace(halt::source::linked(parent->token()));
            registration = child->token().on_cancel(callback.function());
        },
        [&](int index) {
            if (index == 0) {
                parent->cancel();
            } else {
                child.reset();  // the last copy: detaches from the parent
            }
        },
        [&] {
            if (callback.runs.load() > 1) {
                ++violations;
            }
        });
    EXPECT_EQ(violations, 0) << "over " << rounds << " rounds";
}

TEST(Race, LinkedSourceDestroysItselfFromItsCallbackWhileParentCancels) {
    // The .NET #43438 shape under a race: the child's own callback destroys the child during the parent's cancel,
    // while another thread drops one of the parent's source copies.
    std::optional<halt::source> parent;
    std::optional<halt::source> parent_copy;
    std::optional<halt::source> child;
    std::atomic<int> runs{0};
    halt::registration registration;
    int violations = 0;
    const int rounds = run_rounds(
        2,
        [&] {
            registration = halt::registration();
            child.reset();
            parent_copy.reset();
            runs = 0;
            parent.emplace();
            parent_copy = *parent;
            child.emplace(halt::source::linked(parent->token()));
            registration = child->token().on_cancel([&child, &runs] {
                runs.fetch_add(1);
                child.reset();
            });
        },
        [&](int index) {
            if (index == 0) {
                parent_copy->cancel();
            } else {
                parent.reset();
            }
        },
        [&] {
            if (runs.load() != 1 || child.has_value()) {
                ++violations;
            }
        });
    EXPECT_EQ(violations, 0) << "over " << rounds << " rounds";
}

TEST(Race, WaitVersusCancel) {
    std::optional<halt::source> source;
    halt::token token;
    bool woke_cancelled = false;
    int violations = 0;
    const int rounds = run_rounds(
        2,
        [&] {
            source.emplace();
            token = source->token();
            woke_cancelled = false;
        },
        [&](int index) {
            if (index == 0) {
                source->cancel();
            } else {
                woke_cancelled = token.wait_for(10s);
            }
        },
        [&] {
            if (!woke_cancelled) {
                ++violations;
            }
        },
        race_limits{500, std::chrono::milliseconds(1000)});
    EXPECT_EQ(violations, 0) << "over " << rounds << " rounds";
}

TEST(Race, DeadlineVersusCancel) {
    std::optional<halt::source> source;
    tracked_callback callback;
    halt::registration registration;
    int violations = 0;
    const int rounds = run_rounds(
        2,
        [&] {
            registration = halt::registration();  // may wait for a callback still finishing on the timer thread
            callback.reset();
            source.emplace();
            registration = source->token().on_cancel(callback.function());
        },
        [&](int index) {
            if (index == 0) {
                source->cancel(halt::errc::shutting_down);
            } else {
                source->cancel_after(std::chrono::microseconds(1));
            }
        },
        [&] {
            // The manual cancel has returned, so the state is cancelled; its callback ran on whichever thread won.
            const std::error_code reason = source->token().reason();
            if (reason != halt::errc::shutting_down && reason != halt::errc::deadline_exceeded) {
                ++violations;
            }
            if (!wait_for_count(callback.runs, 1, 10s) || callback.runs.load() != 1) {
                ++violations;
            }
        },
        race_limits{500, std::chrono::milliseconds(1000)});
    EXPECT_EQ(violations, 0) << "over " << rounds << " rounds";
}

TEST(Race, SourceDestroyedWhileItsDeadlineFires) {
    // The timer thread may be firing the deadline at the moment the last source copy goes away.
    std::optional<halt::source> source;
    halt::token token;
    tracked_callback callback;
    std::optional<halt::registration> registration;
    int round_number = 0;
    int violations = 0;
    const int rounds = run_rounds(
        2,
        [&] {
            registration.reset();
            callback.reset();
            source.emplace();
            token = source->token();
            registration.emplace(token.on_cancel(callback.function()));
            source->cancel_after(std::chrono::microseconds(round_number++ % 50));
        },
        [&](int index) {
            if (index == 0) {
                source.reset();
            } else {
                (void)token.is_cancellation_requested();
            }
        },
        [&] {
            registration.reset();  // waits if the timer thread is still running the callback
            callback.destructor_returned = true;
            if (callback.runs.load() > 1 || callback.ran_after_destructor.load() != 0) {
                ++violations;
            }
        },
        race_limits{500, std::chrono::milliseconds(1000)});
    EXPECT_EQ(violations, 0) << "over " << rounds << " rounds";
}

TEST(Race, ToStopTokenVersusCancel) {
    std::optional<halt::source> source;
    halt::token token;
    std::stop_token stop_token;
    int violations = 0;
    const int rounds = run_rounds(
        2,
        [&] {
            stop_token = std::stop_token();
            source.emplace();
            token = source->token();
        },
        [&](int index) {
            if (index == 0) {
                source->cancel();
            } else {
                stop_token = halt::to_stop_token(token);
            }
        },
        [&] {
            if (!stop_token.stop_requested()) {
                ++violations;
            }
        });
    EXPECT_EQ(violations, 0) << "over " << rounds << " rounds";
}

TEST(Race, ThrowingCallbacksDuringConcurrentRegistration) {
    std::optional<halt::source> source;
    halt::token token;
    std::atomic<int> thrown{0};
    std::size_t reported = 0;
    std::array<halt::registration, 4> registrations;
    int violations = 0;
    const int rounds = run_rounds(
        2,
        [&] {
            for (halt::registration& registration : registrations) {
                registration = halt::registration();
            }
            thrown = 0;
            reported = 0;
            source.emplace();
            token = source->token();
            registrations[0] = token.on_cancel([&thrown] {
                thrown.fetch_add(1);
                throw std::runtime_error("before");
            });
        },
        [&](int index) {
            if (index == 0) {
                try {
                    source->cancel();
                } catch (const halt::callback_errors& errors) {
                    reported += errors.errors().size();
                }
            } else {
                for (std::size_t slot = 1; slot < registrations.size(); ++slot) {
                    try {
                        registrations[slot] = token.on_cancel([&thrown] {
                            thrown.fetch_add(1);
                            throw std::runtime_error("racing");
                        });
                    } catch (const std::runtime_error&) {
                        // Registered after cancel: ran here, and its exception came out of on_cancel.
                        thrown.fetch_sub(1);
                    }
                }
            }
        },
        [&] {
            // Every callback ran once; the ones that ran inside cancel are reported by it, the rest were caught above.
            if (static_cast<std::size_t>(thrown.load()) != reported || reported == 0) {
                ++violations;
            }
        });
    EXPECT_EQ(violations, 0) << "over " << rounds << " rounds";
}

TEST(Race, NewestFirstHoldsAcrossThreadsWithoutContention) {
    // Registrations ordered by happens-before (each thread is joined before the next starts) and never racing each
    // other run strictly newest first, whichever thread made them.
    halt::source source;
    const halt::token token = source.token();
    constexpr int count = 8;
    std::vector<int> order;  // only the cancelling thread writes it
    std::vector<halt::registration> registrations(count);
    for (int step = 0; step < count; ++step) {
        std::thread registrar([&, step] {
            registrations[step] = token.on_cancel([&order, step] { order.push_back(step); });
        });
        registrar.join();
    }
    source.cancel();
    EXPECT_EQ(order, (std::vector<int>{7, 6, 5, 4, 3, 2, 1, 0}));
}

TEST(Race, NewestFirstHoldsPerThreadAfterContention) {
    // Once registrations have raced, each thread gets a list of its own (documented on source::cancel): callbacks
    // still run newest first per registering thread, and every one of them runs exactly once.
    halt::source source;
    const halt::token token = source.token();
    {
        std::atomic<bool> go{false};
        auto hammer = [&] {
            while (!go.load()) {
                std::this_thread::yield();
            }
            const auto end = clock_type::now() + 200ms;
            for (int iteration = 0; iteration < 20000 && clock_type::now() < end; ++iteration) {
                halt::registration registration = token.on_cancel([] {});
            }
        };
        std::thread first(hammer);
        std::thread second(hammer);
        go = true;
        first.join();
        second.join();
    }
    constexpr int threads = 3;
    constexpr int per_thread = 4;
    std::vector<std::pair<int, int>> order;  // (thread, step); only the cancelling thread writes it
    std::vector<halt::registration> registrations(threads * per_thread);
    for (int thread = 0; thread < threads; ++thread) {
        std::thread registrar([&, thread] {
            for (int step = 0; step < per_thread; ++step) {
                registrations[thread * per_thread + step] =
                    token.on_cancel([&order, thread, step] { order.emplace_back(thread, step); });
            }
        });
        registrar.join();
    }
    source.cancel();
    ASSERT_EQ(order.size(), static_cast<std::size_t>(threads * per_thread));
    for (int thread = 0; thread < threads; ++thread) {
        std::vector<int> steps;
        for (const auto& [who, step] : order) {
            if (who == thread) steps.push_back(step);
        }
        EXPECT_EQ(steps, (std::vector<int>{3, 2, 1, 0})) << "thread " << thread;
    }
}

}  // namespace
