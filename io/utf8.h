// Text that reaches JSON (manifests, run records, metrics) must be UTF-8, and text echoed into an
// error must stay readable: a 10 MB value, raw binary or an embedded NUL would bury or cut the
// message.
//
//   if (size_t at = utf8_error_at(id); at != std::string_view::npos) ... // reject, naming byte `at`
//   SEQ_FAIL("expected a number, got `", shown(value), "`");
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace seqmend {

// Offset of the first byte that is not part of a well-formed UTF-8 sequence (overlong forms,
// surrogates and code points past U+10FFFF count as malformed), or npos when `s` is valid.
size_t utf8_error_at(std::string_view s);

// `s` for a message: bytes that are not printable UTF-8 (invalid sequences, NUL and other control
// characters) as \xHH, cut after about `max` bytes with the full length given ("... (10485760 bytes)").
std::string shown(std::string_view s, size_t max = 200);

}  // namespace seqmend
