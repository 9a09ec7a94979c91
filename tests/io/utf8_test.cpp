// UTF-8 validation and message-safe echoing (io/utf8.h).
#include <gtest/gtest.h>

#include <string>

#include "io/utf8.h"

namespace seqmend {
namespace {

constexpr size_t npos = std::string_view::npos;

TEST(Utf8, ValidTextAndEveryKindOfMalformedSequence) {
  EXPECT_EQ(utf8_error_at(""), npos);
  EXPECT_EQ(utf8_error_at("plain ascii"), npos);
  EXPECT_EQ(utf8_error_at("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), npos);  // é € 😀
  EXPECT_EQ(utf8_error_at(std::string("a\0b", 3)), npos) << "NUL is valid UTF-8 (shown escapes it)";
  EXPECT_EQ(utf8_error_at("ab\xFF"), 2u);
  EXPECT_EQ(utf8_error_at("\xC0\xAF"), 0u) << "overlong";
  EXPECT_EQ(utf8_error_at("\xE0\x80\xAF"), 0u) << "overlong";
  EXPECT_EQ(utf8_error_at("x\xED\xA0\x80"), 1u) << "surrogate";
  EXPECT_EQ(utf8_error_at("\xF4\x90\x80\x80"), 0u) << "past U+10FFFF";
  EXPECT_EQ(utf8_error_at("ok\xE2\x82"), 2u) << "truncated";
  EXPECT_EQ(utf8_error_at("\x80"), 0u) << "lone continuation byte";
}

TEST(Utf8, ShownEscapesWhatIsNotPrintableAndCutsLongValues) {
  EXPECT_EQ(shown("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(shown(std::string("a\0b\xFF\tc", 6)), "a\\x00b\\xFF\\tc");
  const std::string big(10 << 20, '7');
  const std::string s = shown(big);
  EXPECT_LT(s.size(), 260u);
  EXPECT_NE(s.find("... (10485760 bytes)"), std::string::npos) << s;
  EXPECT_EQ(shown(std::string(300, 'x'), 10), std::string(10, 'x') + "... (300 bytes)");
}

}  // namespace
}  // namespace seqmend
