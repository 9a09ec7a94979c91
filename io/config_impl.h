// Template definitions behind io/config.h. The visitors themselves live in io/config.cpp so that
// yaml-cpp stays out of every file that merely describes a config.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "io/atomic_file.h"

namespace seqmend {
namespace config_detail {

// One parsed YAML tree plus where it came from: a file, or one command-line override.
struct Source;
// The file first (nothing when `path` is empty), then one source per override, in order. Throws on
// a missing file, a YAML syntax error or a malformed override before any field is read.
std::vector<std::shared_ptr<const Source>> parse_sources(const std::string& path,
                                                        const std::vector<std::string>& overrides);
std::vector<std::shared_ptr<const Source>> parse_sources(const std::string& path,
                                                        const std::vector<LocatedOverride>& overrides);
// One top-level section of the file as the source (see load_config_section).
std::vector<std::shared_ptr<const Source>> parse_section_sources(const std::string& path, const std::string& key,
                                                                bool optional);
// The same with the file's text given (errors name `origin`).
std::vector<std::shared_ptr<const Source>> parse_text_sources(const std::string& text, const std::string& origin,
                                                             const std::vector<LocatedOverride>& overrides);

// Sets the fields a source mentions, leaves the others alone. finish() reports the keys of the
// top level that no field claimed (nested levels are checked on leaving them).
class Reader final : public ConfigVisitor {
 public:
  explicit Reader(std::shared_ptr<const Source> source);
  ~Reader() override;
  void finish();
  struct State;  // opaque (holds yaml-cpp nodes); public only for io/config_reader.cpp's helpers

  using ConfigVisitor::field;
  void field(const char* key, int64_t& x, const char* doc, int64_t lo, int64_t hi) override;
  void field(const char* key, double& x, const char* doc, double lo, double hi) override;
  void field(const char* key, bool& x, const char* doc) override;
  void field(const char* key, std::string& x, const char* doc) override;
  void field(const char* key, std::vector<int64_t>& x, const char* doc, int64_t lo, int64_t hi) override;
  void field(const char* key, std::vector<double>& x, const char* doc, double lo, double hi) override;
  void field(const char* key, std::vector<std::string>& x, const char* doc) override;
  void choice(const char* key, std::string& x, std::initializer_list<const char*> choices,
              const char* doc) override;
  bool retired(const char* key, bool& x, const char* use_instead) override;

 protected:
  bool enter(const char* key, const char* doc) override;
  void leave() override;
  void field_u64(const char* key, uint64_t& x, const char* doc, uint64_t lo, uint64_t hi) override;
  void field_float(const char* key, float& x, const char* doc, double lo, double hi) override;

 private:
  std::unique_ptr<State> st_;
};

// Emits every field as block YAML, the field's doc as a trailing comment (retired keys: never).
class Writer final : public ConfigVisitor {
 public:
  Writer();
  ~Writer() override;
  std::string yaml();

  using ConfigVisitor::field;
  void field(const char* key, int64_t& x, const char* doc, int64_t lo, int64_t hi) override;
  void field(const char* key, double& x, const char* doc, double lo, double hi) override;
  void field(const char* key, bool& x, const char* doc) override;
  void field(const char* key, std::string& x, const char* doc) override;
  void field(const char* key, std::vector<int64_t>& x, const char* doc, int64_t lo, int64_t hi) override;
  void field(const char* key, std::vector<double>& x, const char* doc, double lo, double hi) override;
  void field(const char* key, std::vector<std::string>& x, const char* doc) override;
  void choice(const char* key, std::string& x, std::initializer_list<const char*> choices,
              const char* doc) override;

 protected:
  bool enter(const char* key, const char* doc) override;
  void leave() override;
  void field_u64(const char* key, uint64_t& x, const char* doc, uint64_t lo, uint64_t hi) override;
  void field_float(const char* key, float& x, const char* doc, double lo, double hi) override;

 private:
  struct State;
  std::unique_ptr<State> st_;
};

// One line per field: full key, type and range, default, doc (retired keys: none).
class Reference final : public ConfigVisitor {
 public:
  std::string text() const { return out_; }

  using ConfigVisitor::field;
  void field(const char* key, int64_t& x, const char* doc, int64_t lo, int64_t hi) override;
  void field(const char* key, double& x, const char* doc, double lo, double hi) override;
  void field(const char* key, bool& x, const char* doc) override;
  void field(const char* key, std::string& x, const char* doc) override;
  void field(const char* key, std::vector<int64_t>& x, const char* doc, int64_t lo, int64_t hi) override;
  void field(const char* key, std::vector<double>& x, const char* doc, double lo, double hi) override;
  void field(const char* key, std::vector<std::string>& x, const char* doc) override;
  void choice(const char* key, std::string& x, std::initializer_list<const char*> choices,
              const char* doc) override;

 protected:
  bool enter(const char* key, const char* doc) override;
  void leave() override;
  void field_u64(const char* key, uint64_t& x, const char* doc, uint64_t lo, uint64_t hi) override;
  void field_float(const char* key, float& x, const char* doc, double lo, double hi) override;

 private:
  void line(const char* key, const std::string& type, const std::string& value, const char* doc);
  std::vector<std::string> path_;
  std::string out_;
};

// A config read from its sources in order: later ones (overrides) set what they mention.
template <typename S>
S read_sources(const std::vector<std::shared_ptr<const Source>>& sources) {
  S cfg{};
  for (const auto& source : sources) {
    Reader reader(source);
    cfg.visit(reader);
    reader.finish();
  }
  return cfg;
}

}  // namespace config_detail

template <typename S>
S load_config(const std::string& path, const std::vector<std::string>& overrides) {
  return config_detail::read_sources<S>(config_detail::parse_sources(path, overrides));
}

template <typename S>
S load_config_located(const std::string& path, const std::vector<LocatedOverride>& overrides) {
  return config_detail::read_sources<S>(config_detail::parse_sources(path, overrides));
}

template <typename S>
S load_config_text(const std::string& text, const std::string& origin, const std::vector<LocatedOverride>& overrides) {
  return config_detail::read_sources<S>(config_detail::parse_text_sources(text, origin, overrides));
}

template <typename S>
S load_config_section(const std::string& path, const std::string& key, bool optional) {
  return config_detail::read_sources<S>(config_detail::parse_section_sources(path, key, optional));
}

template <typename S>
std::string config_to_yaml(S& cfg) {
  config_detail::Writer writer;
  cfg.visit(writer);
  return writer.yaml();
}

template <typename S>
void write_config(S& cfg, const std::string& path) {
  write_file_atomic(path, config_to_yaml(cfg));
}

template <typename S>
std::string config_reference(S& cfg) {
  config_detail::Reference ref;
  cfg.visit(ref);
  return ref.text();
}

}  // namespace seqmend
