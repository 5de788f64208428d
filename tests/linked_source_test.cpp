// Tests for halt::source::linked: sources cancelled by any of their parents (halt tokens or std::stop_tokens).

#include <halt/halt.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <span>
#include <stop_token>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

TEST(LinkedSource, WithNoParentsIsAnOrdinarySource) {
    halt::source linked = halt::source::linked();
    EXPECT_FALSE(linked.is_cancellation_requested());
    EXPECT_TRUE(linked.token().can_be_canceled());
    EXPECT_FALSE(linked.token().deadline().has_value());
    int runs = 0;
    halt::registration registration = linked.token().on_cancel([&] { ++runs; });
    EXPECT_TRUE(linked.cancel(halt::errc::shutting_down));
    EXPECT_EQ(runs, 1);
    EXPECT_EQ(linked.token().reason(), halt::errc::shutting_down);
}

TEST(LinkedSource, WithAnEmptySpanIsAnOrdinarySource) {
    halt::source linked = halt::source::linked(std::span<const halt::token>());
    EXPECT_FALSE(linked.is_cancellation_requested());
    EXPECT_TRUE(linked.cancel());
    EXPECT_EQ(linked.token().reason(), halt::errc::canceled);
}

TEST(LinkedSource, LinkedOnlyToNoneTokensIsAnOrdinarySource) {
    halt::source linked = halt::source::linked(halt::token::none(), halt::token());
    EXPECT_FALSE(linked.is_cancellation_requested());
    EXPECT_TRUE(linked.token().can_be_canceled());
    EXPECT_FALSE(linked.token().deadline().has_value());
    int runs = 0;
    halt::registration registration = linked.token().on_cancel([&] { ++runs; });
    EXPECT_TRUE(linked.cancel());
    EXPECT_FALSE(linked.cancel());
    EXPECT_EQ(runs, 1);
    EXPECT_EQ(linked.token().reason(), halt::errc::canceled);
}

TEST(LinkedSource, LinkedOnlyToAStopTokenThatCannotStopIsAnOrdinarySource) {
    halt::source linked = halt::source::linked(std::stop_token());
    EXPECT_FALSE(linked.is_cancellation_requested());
    EXPECT_TRUE(linked.cancel());
}

TEST(LinkedSource, IsANewStateNotTheParents) {
    halt::source parent;
    halt::source linked = halt::source::linked(parent.token());
    EXPECT_NE(linked.token(), parent.token());
}

TEST(LinkedSource, CanceledWhenItsOnlyParentIs) {
    halt::source parent;
    halt::source linked = halt::source::linked(parent.token());
    EXPECT_FALSE(linked.is_cancellation_requested());
    parent.cancel();
    EXPECT_TRUE(linked.is_cancellation_requested());
    EXPECT_EQ(linked.token().reason(), halt::errc::canceled);
}

TEST(LinkedSource, CanceledWhenAnyOfThreeParentsIs) {
    for (int canceled_parent = 0; canceled_parent < 3; ++canceled_parent) {
        halt::source parents[3];
        halt::source linked = halt::source::linked(parents[0].token(), parents[1].token(), parents[2].token());
        EXPECT_FALSE(linked.is_cancellation_requested());
        parents[canceled_parent].cancel();
        EXPECT_TRUE(linked.is_cancellation_requested()) << canceled_parent;
        for (int other = 0; other < 3; ++other) {
            EXPECT_EQ(parents[other].is_cancellation_requested(), other == canceled_parent);
        }
    }
}

TEST(LinkedSource, CancelingTheLinkedSourceLeavesParentsAlone) {
    halt::source first;
    halt::source second;
    halt::source linked = halt::source::linked(first.token(), second.token());
    EXPECT_TRUE(linked.cancel());
    EXPECT_FALSE(first.is_cancellation_requested());
    EXPECT_FALSE(second.is_cancellation_requested());
}

TEST(LinkedSource, ParentsReasonPropagates) {
    halt::source first;
    halt::source second;
    halt::source linked = halt::source::linked(first.token(), second.token());
    std::error_code seen;
    halt::registration registration = linked.token().on_cancel([&](std::error_code reason) { seen = reason; });
    const std::error_code reason = std::make_error_code(std::errc::connection_reset);
    second.cancel(reason);
    EXPECT_EQ(linked.token().reason(), reason);
    EXPECT_EQ(seen, reason);
}

TEST(LinkedSource, OnlyTheFirstParentsReasonCounts) {
    halt::source first;
    halt::source second;
    halt::source linked = halt::source::linked(first.token(), second.token());
    second.cancel(halt::errc::client_disconnected);
    first.cancel(halt::errc::shutting_down);
    EXPECT_EQ(linked.token().reason(), halt::errc::client_disconnected);
}

TEST(LinkedSource, ParentAlreadyCanceledCancelsAtOnceWithItsReason) {
    halt::source healthy;
    halt::source parent;
    parent.cancel(halt::errc::shutting_down);
    halt::source linked = halt::source::linked(healthy.token(), parent.token());
    EXPECT_TRUE(linked.is_cancellation_requested());
    EXPECT_EQ(linked.token().reason(), halt::errc::shutting_down);
    EXPECT_FALSE(linked.cancel());
}

TEST(LinkedSource, CallbacksOfTheLinkedSourceRunOnTheParentsCancelingThread) {
    halt::source parent;
    halt::source linked = halt::source::linked(parent.token());
    std::thread::id ran_on;
    halt::registration registration = linked.token().on_cancel([&] { ran_on = std::this_thread::get_id(); });
    std::thread canceller([&] { parent.cancel(); });
    const std::thread::id canceller_id = canceller.get_id();
    canceller.join();
    EXPECT_EQ(ran_on, canceller_id);
}

TEST(LinkedSource, SpanOfParents) {
    std::vector<halt::source> parents(100);
    std::vector<halt::token> tokens;
    for (const halt::source& parent : parents) {
        tokens.push_back(parent.token());
    }
    halt::source linked = halt::source::linked(std::span<const halt::token>(tokens));
    EXPECT_FALSE(linked.is_cancellation_requested());
    parents[57].cancel(halt::errc::client_disconnected);
    EXPECT_TRUE(linked.is_cancellation_requested());
    EXPECT_EQ(linked.token().reason(), halt::errc::client_disconnected);
}

TEST(LinkedSource, SpanMayHoldNoneTokens) {
    halt::source parent;
    const std::vector<halt::token> tokens{halt::token::none(), parent.token(), halt::token()};
    halt::source linked = halt::source::linked(std::span<const halt::token>(tokens));
    parent.cancel();
    EXPECT_TRUE(linked.is_cancellation_requested());
}

TEST(LinkedSource, ManyVariadicParents) {
    halt::source parents[8];
    halt::source linked = halt::source::linked(parents[0].token(), parents[1].token(), parents[2].token(),
                                               parents[3].token(), parents[4].token(), parents[5].token(),
                                               parents[6].token(), parents[7].token());
    parents[7].cancel();
    EXPECT_TRUE(linked.is_cancellation_requested());
}

TEST(LinkedSource, StopTokenParent) {
    std::stop_source stop_source;
    halt::source linked = halt::source::linked(stop_source.get_token());
    EXPECT_FALSE(linked.is_cancellation_requested());
    stop_source.request_stop();
    EXPECT_TRUE(linked.is_cancellation_requested());
    EXPECT_EQ(linked.token().reason(), halt::errc::canceled);
}

TEST(LinkedSource, StopTokenParentAlreadyStopped) {
    std::stop_source stop_source;
    stop_source.request_stop();
    halt::source linked = halt::source::linked(stop_source.get_token());
    EXPECT_TRUE(linked.is_cancellation_requested());
    EXPECT_EQ(linked.token().reason(), halt::errc::canceled);
}

TEST(LinkedSource, MixOfHaltAndStopTokenParents) {
    halt::source halt_parent;
    std::stop_source std_parent;
    {
        halt::source linked = halt::source::linked(halt_parent.token(), std_parent.get_token());
        std_parent.request_stop();
        EXPECT_TRUE(linked.is_cancellation_requested());
        EXPECT_EQ(linked.token().reason(), halt::errc::canceled);
    }
    std::stop_source other_std_parent;
    halt::source linked = halt::source::linked(other_std_parent.get_token(), halt_parent.token());
    halt_parent.cancel(halt::errc::shutting_down);
    EXPECT_TRUE(linked.is_cancellation_requested());
    EXPECT_EQ(linked.token().reason(), halt::errc::shutting_down);
}

TEST(LinkedSource, ChainOfLinkedSources) {
    halt::source root;
    halt::source middle = halt::source::linked(root.token());
    halt::source leaf = halt::source::linked(middle.token());
    root.cancel(halt::errc::shutting_down);
    EXPECT_TRUE(middle.is_cancellation_requested());
    EXPECT_TRUE(leaf.is_cancellation_requested());
    EXPECT_EQ(leaf.token().reason(), halt::errc::shutting_down);
}

TEST(LinkedSource, CopiesShareTheLinkedState) {
    halt::source parent;
    std::optional<halt::source> copy;
    {
        halt::source linked = halt::source::linked(parent.token());
        copy = linked;
    }
    // One copy is still alive, so the link must still work.
    parent.cancel();
    EXPECT_TRUE(copy->is_cancellation_requested());
}

TEST(LinkedSource, DeadlineIsNoneWithoutAnyDeadline) {
    halt::source parent;
    halt::source linked = halt::source::linked(parent.token());
    EXPECT_FALSE(linked.token().deadline().has_value());
}

TEST(LinkedSource, DeadlineIsTheParentsDeadline) {
    halt::source parent;
    const auto parent_deadline = clock_type::now() + 1h;
    parent.cancel_at(parent_deadline);
    halt::source linked = halt::source::linked(parent.token());
    ASSERT_TRUE(linked.token().deadline().has_value());
    EXPECT_EQ(*linked.token().deadline(), parent_deadline);
}

TEST(LinkedSource, DeadlineIsTheEarliestOfItsOwnAndItsParents) {
    halt::source early_parent;
    halt::source late_parent;
    const auto now = clock_type::now();
    early_parent.cancel_at(now + 2h);
    late_parent.cancel_at(now + 3h);
    halt::source linked = halt::source::linked(late_parent.token(), early_parent.token());
    ASSERT_TRUE(linked.token().deadline().has_value());
    EXPECT_EQ(*linked.token().deadline(), now + 2h);

    linked.cancel_at(now + 1h);  // its own deadline is now the earliest
    ASSERT_TRUE(linked.token().deadline().has_value());
    EXPECT_EQ(*linked.token().deadline(), now + 1h);

    linked.cancel_at(now + 4h);  // moved later: the parents' earliest wins again
    ASSERT_TRUE(linked.token().deadline().has_value());
    EXPECT_EQ(*linked.token().deadline(), now + 2h);
}

TEST(LinkedSource, DeadlineIncludesAParentDeadlineSetAfterLinking) {
    halt::source parent;
    halt::source other_parent;
    halt::source linked = halt::source::linked(parent.token(), other_parent.token());
    EXPECT_FALSE(linked.token().deadline().has_value());
    const auto parent_deadline = clock_type::now() + 1h;
    parent.cancel_at(parent_deadline);
    ASSERT_TRUE(linked.token().deadline().has_value());
    EXPECT_EQ(*linked.token().deadline(), parent_deadline);
}

TEST(LinkedSource, DeadlineOfAGrandparentCounts) {
    halt::source root;
    halt::source middle = halt::source::linked(root.token());
    halt::source leaf = halt::source::linked(middle.token());
    const auto root_deadline = clock_type::now() + 1h;
    root.cancel_at(root_deadline);
    ASSERT_TRUE(leaf.token().deadline().has_value());
    EXPECT_EQ(*leaf.token().deadline(), root_deadline);
}

TEST(LinkedSource, ParentDeadlineCancelsTheLinkedSourceWithDeadlineExceeded) {
    halt::source parent;
    halt::source linked = halt::source::linked(parent.token());
    parent.cancel_after(1ms);
    EXPECT_TRUE(linked.token().wait_for(10s));
    EXPECT_EQ(linked.token().reason(), halt::errc::deadline_exceeded);
}

TEST(LinkedSource, OwnDeadlineCancelsOnlyTheLinkedSource) {
    halt::source parent;
    halt::source linked = halt::source::linked(parent.token());
    linked.cancel_after(1ms);
    EXPECT_TRUE(linked.token().wait_for(10s));
    EXPECT_EQ(linked.token().reason(), halt::errc::deadline_exceeded);
    EXPECT_FALSE(parent.is_cancellation_requested());
}

TEST(LinkedSource, DestroyedLinkedSourceDetachesFromItsParents) {
    halt::source first;
    halt::source second;
    for (int round = 0; round < 1000; ++round) {
        halt::source linked = halt::source::linked(first.token(), second.token());
        halt::registration registration = linked.token().on_cancel([] { ADD_FAILURE() << "detached child ran"; });
    }
    // Every child is gone; cancelling the parents must not touch their freed state (ASan checks this).
    EXPECT_TRUE(first.cancel());
    EXPECT_TRUE(second.cancel());
}

TEST(LinkedSource, TokenOfADestroyedLinkedSourceIsNoLongerCanceledByParents) {
    halt::source parent;
    halt::token orphan;
    {
        halt::source linked = halt::source::linked(parent.token());
        orphan = linked.token();
    }
    parent.cancel();
    EXPECT_FALSE(orphan.is_cancellation_requested()) << "the last source copy detached from the parent";
}

TEST(LinkedSource, DestroyedStopTokenLinkDetaches) {
    std::stop_source stop_source;
    for (int round = 0; round < 100; ++round) {
        halt::source linked = halt::source::linked(stop_source.get_token());
    }
    stop_source.request_stop();
}

TEST(LinkedSource, ParentDestroyedBeforeTheLinkedSource) {
    std::optional<halt::source> parent(std::in_place);
    halt::source linked = halt::source::linked(parent->token());
    parent.reset();  // the parent's state can no longer be cancelled by anyone
    EXPECT_FALSE(linked.is_cancellation_requested());
    EXPECT_TRUE(linked.cancel());
}

TEST(LinkedSource, ParentTokenOutlivesParentSourceAndLinkedSource) {
    halt::token parent_token;
    {
        halt::source parent;
        parent_token = parent.token();
        halt::source linked = halt::source::linked(parent_token);
    }
    EXPECT_FALSE(parent_token.is_cancellation_requested());
}

// .NET runtime #43438: a callback that disposes the last linked source while the parent's cancel is propagating
// into it deadlocked, because disposing waited for the very callback that was running.
TEST(LinkedSource, CallbackOfTheLinkedSourceDestroysItDuringParentCancel) {
    halt::source parent;
    std::optional<halt::source> linked(halt::source::linked(parent.token()));
    int runs = 0;
    halt::registration registration = linked->token().on_cancel([&] {
        ++runs;
        linked.reset();  // the last copy: detaches from the parent whose cancel is running right now
    });
    EXPECT_TRUE(parent.cancel());
    EXPECT_EQ(runs, 1);
    EXPECT_FALSE(linked.has_value());
}

TEST(LinkedSource, ParentCallbackDestroysTheLinkedSourceBeforeItIsReached) {
    halt::source parent;
    std::optional<halt::source> linked(halt::source::linked(parent.token()));
    int linked_runs = 0;
    halt::registration linked_registration = linked->token().on_cancel([&] { ++linked_runs; });
    // Registered after the link, so it runs first (newest first) and destroys the link before it is reached.
    halt::registration parent_registration = parent.token().on_cancel([&] { linked.reset(); });
    EXPECT_TRUE(parent.cancel());
    EXPECT_FALSE(linked.has_value());
    EXPECT_EQ(linked_runs, 0);
}

TEST(LinkedSource, ParentCallbackDestroysTheLinkedSourceAfterItWasCanceled) {
    halt::source parent;
    int parent_runs = 0;
    std::optional<halt::source> linked;
    // Registered before the link, so it runs after the link has cancelled the child.
    halt::registration parent_registration = parent.token().on_cancel([&] {
        ++parent_runs;
        EXPECT_TRUE(linked->is_cancellation_requested());
        linked.reset();
    });
    linked.emplace(halt::source::linked(parent.token()));
    EXPECT_TRUE(parent.cancel());
    EXPECT_EQ(parent_runs, 1);
    EXPECT_FALSE(linked.has_value());
}

TEST(LinkedSource, LinkedCallbackDestroysAChainDuringRootCancel) {
    halt::source root;
    std::optional<halt::source> middle(halt::source::linked(root.token()));
    std::optional<halt::source> leaf(halt::source::linked(middle->token()));
    int runs = 0;
    halt::registration registration = leaf->token().on_cancel([&] {
        ++runs;
        leaf.reset();
        middle.reset();
    });
    EXPECT_TRUE(root.cancel());
    EXPECT_EQ(runs, 1);
}

TEST(LinkedSource, LinkedSourceDestroyedOnAnotherThreadAfterParentCancel) {
    halt::source parent;
    std::optional<halt::source> linked(halt::source::linked(parent.token()));
    std::thread destroyer;
    int runs = 0;
    halt::registration registration = linked->token().on_cancel([&] { ++runs; });
    parent.cancel();
    destroyer = std::thread([&] { linked.reset(); });
    destroyer.join();
    EXPECT_EQ(runs, 1);
}

TEST(LinkedSource, TryResetOfALinkedSourceKeepsItLinked) {
    // try_reset forgets user registrations only: the link to the parents is not one of them.
    halt::source parent;
    halt::source linked = halt::source::linked(parent.token());
    ASSERT_TRUE(linked.try_reset());
    parent.cancel();
    EXPECT_TRUE(linked.is_cancellation_requested());
}

TEST(LinkedSource, SameParentTwice) {
    halt::source parent;
    halt::source linked = halt::source::linked(parent.token(), parent.token());
    int runs = 0;
    halt::registration registration = linked.token().on_cancel([&] { ++runs; });
    parent.cancel(halt::errc::shutting_down);
    EXPECT_EQ(runs, 1);
    EXPECT_EQ(linked.token().reason(), halt::errc::shutting_down);
}

TEST(LinkedSource, LinkedToAParentWhoseSourcesAreGone) {
    halt::token orphan_parent;
    {
        halt::source parent;
        orphan_parent = parent.token();
    }
    halt::source linked = halt::source::linked(orphan_parent);
    EXPECT_FALSE(linked.is_cancellation_requested());
    EXPECT_TRUE(linked.cancel());
}

TEST(LinkedSource, ManyChildrenOfOneParent) {
    halt::source parent;
    std::vector<halt::source> children;
    for (int index = 0; index < 500; ++index) {
        children.push_back(halt::source::linked(parent.token()));
    }
    children.erase(children.begin(), children.begin() + 250);  // half detach before the cancel
    parent.cancel(halt::errc::client_disconnected);
    for (const halt::source& child : children) {
        ASSERT_TRUE(child.is_cancellation_requested());
        ASSERT_EQ(child.token().reason(), halt::errc::client_disconnected);
    }
}

}  // namespace
