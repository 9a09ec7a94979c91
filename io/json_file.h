// Reading the small JSON records a run leaves (done.json, results.json, point.json, sweep.json).
// Two kinds of reader, because the records mean two things: a bookkeeping record whose absence or
// damage just means "not done yet" (a crash mid-write of an older, non-atomic writer, a run that
// never got that far), and a result that a later step cannot do without.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace seqmend {

// The value in `path`; null when the file is missing, unreadable or not JSON.
nlohmann::json read_json_or_null(const std::string& path);

// The value in `path`; throws seqmend::Error "<what>: <path> is missing" or "<what>: <path>: not
// JSON: <parser's message>".
nlohmann::json read_json_file(const std::string& path, const std::string& what);

}  // namespace seqmend
