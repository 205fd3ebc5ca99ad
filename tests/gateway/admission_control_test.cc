#include "gateway/admission_control.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace session_gateway {
namespace gateway {
namespace {

using ::testing::HasSubstr;
using Limit = AdmissionControl::Limit;
using Ticket = AdmissionControl::Ticket;

AdmissionLimits Limits(int64_t in_flight, int64_t waiting, int64_t upstream_connections = 0) {
  AdmissionLimits limits;
  limits.max_calls_in_flight = in_flight;
  limits.max_calls_waiting = waiting;
  limits.upstream_connections = upstream_connections;
  return limits;
}

TEST(AdmissionControlTest, DefaultsAreEnvoys) {
  AdmissionLimits limits;
  EXPECT_EQ(limits.max_calls_in_flight, 2048);
  EXPECT_EQ(limits.max_calls_waiting, 1024);
}

TEST(AdmissionControlTest, AdmitsUpToTheInFlightLimitThenSheds) {
  AdmissionControl admission(Limits(3, 100));
  std::vector<Ticket> tickets;
  for (int i = 0; i < 3; ++i) {
    AdmissionControl::Decision d = admission.TryAdmit();
    ASSERT_TRUE(d.ticket.has_value()) << i;
    tickets.push_back(*std::move(d.ticket));
  }
  AdmissionControl::Decision refused = admission.TryAdmit();
  EXPECT_FALSE(refused.ticket.has_value());
  EXPECT_EQ(refused.shed_by, Limit::kCallsInFlight);

  AdmissionStats s = admission.stats();
  EXPECT_EQ(s.calls_in_flight, 3);
  EXPECT_EQ(s.admitted, 3u);
  EXPECT_EQ(s.shed_calls_in_flight, 1u);
  EXPECT_EQ(s.shed_calls_waiting, 0u);
}

TEST(AdmissionControlTest, ReleasingATicketFreesItsSlot) {
  AdmissionControl admission(Limits(1, 100));
  {
    std::optional<Ticket> ticket = admission.TryAdmit().ticket;
    ASSERT_TRUE(ticket.has_value());
    EXPECT_FALSE(admission.TryAdmit().ticket.has_value());
  }  // Destroyed: released.
  EXPECT_EQ(admission.calls_in_flight(), 0);
  std::optional<Ticket> again = admission.TryAdmit().ticket;
  ASSERT_TRUE(again.has_value());
  again->Release();
  again->Release();  // Idempotent.
  EXPECT_EQ(admission.calls_in_flight(), 0);
  EXPECT_FALSE(again->valid());
}

TEST(AdmissionControlTest, MovingATicketMovesTheSlot) {
  AdmissionControl admission(Limits(2, 100));
  Ticket a = *admission.TryAdmit().ticket;
  Ticket b = std::move(a);
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract.
  EXPECT_TRUE(b.valid());
  EXPECT_EQ(admission.calls_in_flight(), 1);
  a.Release();  // Holds nothing: changes nothing.
  EXPECT_EQ(admission.calls_in_flight(), 1);

  Ticket c = *admission.TryAdmit().ticket;
  EXPECT_EQ(admission.calls_in_flight(), 2);
  c = std::move(b);  // c's own slot is released, b's taken over.
  EXPECT_EQ(admission.calls_in_flight(), 1);
  c.Release();
  EXPECT_EQ(admission.calls_in_flight(), 0);
}

TEST(AdmissionControlTest, ReportedModeCountsWaitingFromAdmissionUntilConnected) {
  AdmissionControl admission(Limits(10, 2));
  Ticket a = *admission.TryAdmit().ticket;
  Ticket b = *admission.TryAdmit().ticket;
  EXPECT_EQ(admission.calls_waiting(), 2);

  AdmissionControl::Decision refused = admission.TryAdmit();
  EXPECT_FALSE(refused.ticket.has_value());
  EXPECT_EQ(refused.shed_by, Limit::kCallsWaiting);
  // A call refused for waiting holds no in-flight slot either.
  EXPECT_EQ(admission.calls_in_flight(), 2);

  a.BeginUpstream();  // First attempt: already waiting, no double count.
  EXPECT_EQ(admission.calls_waiting(), 2);
  a.ConnectionObtained();
  EXPECT_EQ(admission.calls_waiting(), 1);
  a.ConnectionObtained();  // Not waiting: no change.
  EXPECT_EQ(admission.calls_waiting(), 1);
  EXPECT_TRUE(admission.TryAdmit().ticket.has_value());  // Released at once.

  // A retry waits again until it has a connection; a backoff does not.
  a.EndUpstream();
  EXPECT_EQ(admission.calls_waiting(), 1);
  a.BeginUpstream();
  EXPECT_EQ(admission.calls_waiting(), 2);
  a.EndUpstream();  // Failed before connecting: no longer waiting.
  EXPECT_EQ(admission.calls_waiting(), 1);

  b.Release();  // Releasing a waiting ticket stops its waiting.
  EXPECT_EQ(admission.calls_waiting(), 0);
  EXPECT_EQ(admission.stats().shed_calls_waiting, 1u);
}

TEST(AdmissionControlTest, DerivedModeWaitingIsUpstreamRequestsBeyondThePool) {
  AdmissionControl admission(
      Limits(100, 2, 3));
  std::vector<Ticket> tickets;
  for (int i = 0; i < 5; ++i) {
    const int64_t waiting_before = admission.calls_waiting();
    tickets.push_back(*admission.TryAdmit().ticket);
    EXPECT_EQ(admission.calls_waiting(), waiting_before) << "admitted, not yet sent";
    tickets.back().BeginUpstream();
    tickets.back().BeginUpstream();  // Twice without End: counted once.
  }
  // 5 requests for 3 connections: 2 wait, which is the limit.
  EXPECT_EQ(admission.stats().upstream_requests, 5);
  EXPECT_EQ(admission.calls_waiting(), 2);
  AdmissionControl::Decision refused = admission.TryAdmit();
  EXPECT_FALSE(refused.ticket.has_value());
  EXPECT_EQ(refused.shed_by, Limit::kCallsWaiting);

  tickets[0].ConnectionObtained();  // Ignored in derived mode.
  EXPECT_EQ(admission.calls_waiting(), 2);
  tickets[0].EndUpstream();
  EXPECT_EQ(admission.calls_waiting(), 1);
  EXPECT_TRUE(admission.TryAdmit().ticket.has_value());

  tickets.clear();  // Released with their upstream requests.
  EXPECT_EQ(admission.stats().upstream_requests, 0);
  EXPECT_EQ(admission.calls_waiting(), 0);
  EXPECT_EQ(admission.calls_in_flight(), 0);
}

TEST(AdmissionControlTest, LimitsBelowOneAreRaisedToOne) {
  AdmissionControl admission(Limits(0, -5, -1));
  EXPECT_EQ(admission.limits().max_calls_in_flight, 1);
  EXPECT_EQ(admission.limits().max_calls_waiting, 1);
  EXPECT_EQ(admission.limits().upstream_connections, 0);
  EXPECT_TRUE(admission.TryAdmit().ticket.has_value());
}

// Many threads admit, hold and release at once; at no moment may more
// tickets be held than the limit, and every attempt is counted once.
TEST(AdmissionControlTest, ConcurrentAdmissionsNeverExceedTheLimit) {
  constexpr int kLimit = 16, kThreads = 8, kAttemptsPerThread = 20000;
  AdmissionControl admission(Limits(kLimit, 1 << 20));
  std::atomic<int> held{0}, max_held{0};
  std::atomic<uint64_t> admitted{0}, shed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kAttemptsPerThread; ++i) {
        AdmissionControl::Decision d = admission.TryAdmit();
        if (!d.ticket.has_value()) {
          shed.fetch_add(1);
          continue;
        }
        admitted.fetch_add(1);
        const int now = held.fetch_add(1) + 1;
        int seen = max_held.load();
        while (now > seen && !max_held.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::yield();
        // Decrement before the ticket frees its slot, so `held` never
        // counts a ticket that is already released.
        held.fetch_sub(1);
        d.ticket->Release();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_LE(max_held.load(), kLimit);
  EXPECT_GT(max_held.load(), 0);
  const AdmissionStats s = admission.stats();
  EXPECT_EQ(s.calls_in_flight, 0);
  EXPECT_EQ(s.admitted, admitted.load());
  EXPECT_EQ(s.shed_calls_in_flight, shed.load());
  EXPECT_EQ(s.admitted + s.shed_calls_in_flight, uint64_t{kThreads} * kAttemptsPerThread);
}

// The same with tickets held across threads' attempts (no releases until
// the end): exactly the limit is admitted, the rest are shed.
TEST(AdmissionControlTest, ConcurrentBurstAdmitsExactlyTheLimit) {
  constexpr int kLimit = 1000, kThreads = 8, kAttemptsPerThread = 500;
  AdmissionControl admission(Limits(kLimit, kLimit));
  std::vector<std::vector<Ticket>> held(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&admission, &mine = held[static_cast<size_t>(t)]] {
      for (int i = 0; i < kAttemptsPerThread; ++i) {
        if (auto ticket = admission.TryAdmit().ticket) mine.push_back(*std::move(ticket));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  size_t total = 0;
  for (const auto& tickets : held) total += tickets.size();
  EXPECT_EQ(total, size_t{kLimit});
  const AdmissionStats s = admission.stats();
  EXPECT_EQ(s.calls_in_flight, kLimit);
  EXPECT_EQ(s.calls_waiting, kLimit);
  EXPECT_EQ(s.admitted, uint64_t{kLimit});
  EXPECT_EQ(s.shed_calls_in_flight + s.shed_calls_waiting,
            uint64_t{kThreads} * kAttemptsPerThread - kLimit);
  held.clear();
  EXPECT_EQ(admission.calls_in_flight(), 0);
  EXPECT_EQ(admission.calls_waiting(), 0);
}

TEST(AdmissionControlTest, ShedStatusIsUnavailableAndNamesTheLimit) {
  AdmissionControl admission(Limits(1024, 512));
  grpc::Status in_flight = admission.ShedStatus(Limit::kCallsInFlight);
  EXPECT_EQ(in_flight.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(in_flight.error_message(),
            "session-gateway is overloaded: 1024 calls in flight, the limit of "
            "--max_calls_in_flight; the call was not started, retry with backoff");

  grpc::Status waiting = admission.ShedStatus(Limit::kCallsWaiting);
  EXPECT_EQ(waiting.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(waiting.error_message(), HasSubstr("overloaded"));
  EXPECT_THAT(waiting.error_message(),
              HasSubstr("512 calls waiting for an upstream connection"));
  EXPECT_THAT(waiting.error_message(), HasSubstr("--max_calls_waiting"));

  EXPECT_EQ(AdmissionControl::LimitName(Limit::kCallsInFlight), "calls_in_flight");
  EXPECT_EQ(AdmissionControl::LimitName(Limit::kCallsWaiting), "calls_waiting");
}

}  // namespace
}  // namespace gateway
}  // namespace session_gateway
