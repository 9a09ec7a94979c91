// Where and when, as run records and manifests write them: the UTC time as ISO 8601 and the host.
#pragma once

#include <unistd.h>

#include <ctime>
#include <string>

namespace seqmend {

// e.g. "2026-12-04T09:30:00Z".
inline std::string utc_now_iso8601() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

inline std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace seqmend
