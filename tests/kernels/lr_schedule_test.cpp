#include "kernels/lr_schedule.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/base/error.h"

namespace seqmend {
namespace {

// base 1, min 0.1, 10 warmup steps, decay over steps 10..110.
double at(LrSchedule s, int64_t step) { return lr_at(s, step, 1.0, 10, 110, 0.1); }

TEST(LrSchedule, WarmupIsLinearFromZeroForEverySchedule) {
  for (auto s : {LrSchedule::Constant, LrSchedule::Linear, LrSchedule::Cosine}) {
    EXPECT_DOUBLE_EQ(at(s, 0), 0.0);
    EXPECT_DOUBLE_EQ(at(s, 1), 0.1);
    EXPECT_DOUBLE_EQ(at(s, 5), 0.5);
    EXPECT_DOUBLE_EQ(at(s, 9), 0.9);
    EXPECT_DOUBLE_EQ(at(s, 10), 1.0);  // end of warmup: the base rate
  }
  EXPECT_DOUBLE_EQ(lr_at(LrSchedule::Cosine, 0, 2.0, 0, 100), 2.0);  // no warmup
}

TEST(LrSchedule, ConstantLinearCosineAtKnownSteps) {
  EXPECT_DOUBLE_EQ(at(LrSchedule::Constant, 60), 1.0);
  EXPECT_DOUBLE_EQ(at(LrSchedule::Constant, 10000), 1.0);
  // t = (step − 10) / 100.
  EXPECT_DOUBLE_EQ(at(LrSchedule::Linear, 35), 0.1 + 0.9 * 0.75);
  EXPECT_DOUBLE_EQ(at(LrSchedule::Linear, 60), 0.55);
  EXPECT_DOUBLE_EQ(at(LrSchedule::Linear, 110), 0.1);
  EXPECT_DOUBLE_EQ(at(LrSchedule::Linear, 500), 0.1);
  EXPECT_NEAR(at(LrSchedule::Cosine, 35), 0.1 + 0.45 * (1 + std::sqrt(0.5)), 1e-15);
  EXPECT_NEAR(at(LrSchedule::Cosine, 60), 0.55, 1e-15);
  EXPECT_NEAR(at(LrSchedule::Cosine, 85), 0.1 + 0.45 * (1 - std::sqrt(0.5)), 1e-15);
  EXPECT_DOUBLE_EQ(at(LrSchedule::Cosine, 110), 0.1);
  EXPECT_DOUBLE_EQ(at(LrSchedule::Cosine, 111), 0.1);
  // Decays to 0 by default, like Hugging Face's schedules.
  EXPECT_DOUBLE_EQ(lr_at(LrSchedule::Linear, 60, 1.0, 10, 110), 0.5);
}

TEST(LrSchedule, CosineIsMonotoneAfterWarmup) {
  double prev = at(LrSchedule::Cosine, 10);
  for (int64_t s = 11; s <= 120; ++s) {
    const double lr = at(LrSchedule::Cosine, s);
    EXPECT_LE(lr, prev) << "step " << s;
    prev = lr;
  }
}

TEST(LrSchedule, ParsingAndErrors) {
  EXPECT_EQ(parse_lr_schedule("constant"), LrSchedule::Constant);
  EXPECT_EQ(parse_lr_schedule("linear"), LrSchedule::Linear);
  EXPECT_EQ(parse_lr_schedule("cosine"), LrSchedule::Cosine);
  try {
    parse_lr_schedule("cosin");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'cosin'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(lr_at(LrSchedule::Linear, 5, 1.0, 10, 10), Error);  // nothing left to decay over
  EXPECT_THROW(lr_at(LrSchedule::Cosine, -1, 1.0, 0, 10), Error);
  EXPECT_THROW(lr_at(LrSchedule::Cosine, 1, 1.0, 0, 10, 2.0), Error);  // min above base
  EXPECT_DOUBLE_EQ(lr_at(LrSchedule::Constant, 5, 1.0, 10, 0), 0.5);   // constant needs no total
}

}  // namespace
}  // namespace seqmend
