// The local half of stop-signal handling: SIGUSR1 and SIGTERM set a flag instead of killing us.
#include <gtest/gtest.h>

#include <csignal>

#include "distributed/failure.h"

namespace seqmend {
namespace {

TEST(StopSignal, Sigusr1AndSigtermSetTheFlag) {
  install_stop_signal_handlers();
  install_stop_signal_handlers();  // twice is harmless
  clear_stop_request();
  EXPECT_FALSE(stop_requested_locally());
  ASSERT_EQ(std::raise(SIGUSR1), 0);
  EXPECT_TRUE(stop_requested_locally());
  EXPECT_EQ(stop_signal(), SIGUSR1);
  clear_stop_request();
  EXPECT_FALSE(stop_requested_locally());
  ASSERT_EQ(std::raise(SIGTERM), 0);  // would end the test program without the handler
  EXPECT_EQ(stop_signal(), SIGTERM);
  clear_stop_request();
}

TEST(RunRank, ReturnsTheBodysCodeOrOneWithAMessageWhenAlone) {
  EXPECT_EQ(run_rank([] { return 3; }), 3);
  testing::internal::CaptureStderr();
  const int code = run_rank([]() -> int { throw std::runtime_error("disk full"); });
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find("rank 0 failed: disk full"), std::string::npos) << err;
}

}  // namespace
}  // namespace seqmend
