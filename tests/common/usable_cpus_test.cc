// UsableCpus: the affinity mask, not the machine.
#include "common/usable_cpus.h"

#include <sched.h>

#include <thread>

#include "gtest/gtest.h"

namespace session_gateway {
namespace {

TEST(UsableCpusTest, CountsTheCallingThreadsAffinityMask) {
  cpu_set_t original;
  ASSERT_EQ(sched_getaffinity(0, sizeof(original), &original), 0);
  EXPECT_EQ(UsableCpus(), CPU_COUNT(&original));

  // Pinned to one of its CPUs, the thread may use exactly one.
  int first = 0;
  while (!CPU_ISSET(first, &original)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  const int pinned = UsableCpus();
  ASSERT_EQ(sched_setaffinity(0, sizeof(original), &original), 0);
  EXPECT_EQ(pinned, 1);
}

TEST(UsableCpusTest, IsAtLeastOneAndAtMostTheMachine) {
  EXPECT_GE(UsableCpus(), 1);
  const unsigned machine = std::thread::hardware_concurrency();
  if (machine > 0) {
    EXPECT_LE(UsableCpus(), static_cast<int>(machine));
  }
}

}  // namespace
}  // namespace session_gateway
