#include "io/json_file.h"

#include <filesystem>
#include <fstream>
#include <optional>
#include <iterator>

#include "core/base/error.h"

namespace seqmend {

namespace {

// The bytes of a regular file; nullopt when it is missing, not a regular file or unreadable.
std::optional<std::string> file_text(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::string text{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  if (f.bad()) return std::nullopt;
  return text;
}

}  // namespace

nlohmann::json read_json_or_null(const std::string& path) {
  const std::optional<std::string> text = file_text(path);
  if (!text) return nullptr;
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? nlohmann::json() : j;
}

nlohmann::json read_json_file(const std::string& path, const std::string& what) {
  const std::optional<std::string> text = file_text(path);
  SEQ_CHECK(text, what, ": ", path, " is missing (or not a readable file)");
  try {
    return nlohmann::json::parse(*text);
  } catch (const nlohmann::json::exception& e) {
    SEQ_FAIL(what, ": ", path, ": not JSON: ", e.what());
  }
}

}  // namespace seqmend
