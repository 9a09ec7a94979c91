// Reading a config: the YAML file and the command-line overrides become Sources, and a Reader walks
// the struct's visit description over one Source, setting what it mentions and rejecting what it
// does not describe. Every message starts with where (file:line:col, or the override text), then
// the full key path, then what is wrong with the value.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/base/error.h"
#include "io/config.h"
#include "io/utf8.h"
#include "io/config_text.h"

namespace seqmend::config_detail {

struct Source {
  YAML::Node root;       // a mapping, or null for an empty file / no file
  std::string file;      // the config file, for file sources
  std::string override;  // "a.b=value", for override sources
  // Where a located override's key and value were written (LocatedOverride); empty otherwise.
  std::string key_at, value_at;
};

namespace {

std::string where(const Source& src, const YAML::Mark& m) {
  // An override's keys are built here (no mark), its value is parsed from its text (a mark).
  if (!src.value_at.empty()) return m.is_null() ? src.key_at : src.value_at;
  if (!src.override.empty()) return str("override `", shown(src.override), "`");
  if (m.is_null()) return src.file;
  return str(src.file, ":", m.line + 1, ":", m.column + 1);
}

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar: return str("`", shown(n.Scalar()), "`");
    case YAML::NodeType::Sequence: return "a sequence";
    case YAML::NodeType::Map: return "a mapping";
    default: return "an empty value";
  }
}

// A quoted scalar ("0.1") is a string even when its text looks like a number.
bool quoted(const YAML::Node& n) { return n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str"; }

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) SEQ_FAIL("config file not found: ", path);
  if (std::filesystem::is_directory(path, ec)) SEQ_FAIL("config file ", path, " is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) SEQ_FAIL("cannot open config file ", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

YAML::Node parse_yaml(const std::string& text, const std::string& origin) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    // yaml-cpp reports a tab in the indentation as "illegal map value"; say what it is.
    std::string hint;
    if (!e.mark.is_null()) {
      std::istringstream lines(text);
      std::string line;
      for (int i = 0; i <= e.mark.line && std::getline(lines, line);) ++i;
      if (line.substr(0, line.find_first_not_of(" \t")).find('\t') != std::string::npos)
        hint = " (tabs are not allowed in YAML indentation; use spaces)";
    }
    SEQ_FAIL(origin, e.mark.is_null() ? "" : str(":", e.mark.line + 1, ":", e.mark.column + 1),
             ": YAML syntax error: ", e.msg, hint);
  }
}

Source parse_override(const std::string& text) {
  Source src;
  src.override = text;
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    SEQ_FAIL("override `", shown(text), "`: expected key=value, e.g. optim.lr=0.001");
  std::string key = text.substr(0, eq);
  std::vector<std::string> parts;
  for (size_t b = 0;;) {
    size_t e = key.find('.', b);
    std::string part = key.substr(b, e == std::string::npos ? std::string::npos : e - b);
    if (part.empty() || part.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
                            std::string::npos)
      SEQ_FAIL("override `", shown(text), "`: bad key `", shown(key), "` (expected names joined by dots, e.g. model.num_heads)");
    parts.push_back(part);
    if (e == std::string::npos) break;
    b = e + 1;
  }
  YAML::Node value;
  try {
    value = YAML::Load(text.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    SEQ_FAIL("override `", shown(text), "`: bad value: ", e.msg);
  }
  src.root = YAML::Node(YAML::NodeType::Map);
  YAML::Node cur = src.root;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node child(YAML::NodeType::Map);
    cur[parts[i]] = child;
    cur.reset(child);  // rebinds the handle; `cur = child` would overwrite the parent's node
  }
  cur[parts.back()] = value;
  return src;
}

// One mapping level of the source as the struct walks it: which keys it holds, which the struct
// has claimed so far (for unknown-key detection) and which names the struct offers (for hints).
struct Entry {
  std::string key;
  YAML::Mark key_mark;
  YAML::Node value;
  bool claimed = false;
};
struct Level {
  std::string path;  // "" at the top, "model" / "model.encoder" below
  std::vector<Entry> entries;
  std::vector<std::string> known;
};

}  // namespace

std::vector<std::shared_ptr<const Source>> parse_sources(const std::string& path,
                                                        const std::vector<std::string>& overrides) {
  std::vector<std::shared_ptr<const Source>> sources;
  auto file = std::make_shared<Source>();
  file->file = path.empty() ? "<defaults>" : path;
  if (!path.empty()) file->root = parse_yaml(read_file(path), path);
  sources.push_back(file);  // even without a file: the first pass also checks the struct's defaults
  for (const auto& o : overrides) sources.push_back(std::make_shared<Source>(parse_override(o)));
  return sources;
}

std::vector<std::shared_ptr<const Source>> parse_section_sources(const std::string& path, const std::string& key,
                                                                bool optional) {
  std::vector<std::shared_ptr<const Source>> sources = parse_sources(path, std::vector<std::string>{});
  auto file = std::make_shared<Source>(*sources[0]);
  const YAML::Node& whole = file->root;  // const: operator[] on a non-const node would add the key
  const YAML::Node section = whole.IsMap() ? whole[key] : YAML::Node();
  if (!section) {
    SEQ_CHECK(optional, "'", path, "' has no `", key, ":` section");
    file->root = YAML::Node();
  } else {
    file->root = section;  // its nodes keep their marks: errors name the file's own lines
  }
  sources[0] = file;
  return sources;
}

std::vector<std::shared_ptr<const Source>> parse_sources(const std::string& path,
                                                        const std::vector<LocatedOverride>& overrides) {
  std::vector<std::string> texts;
  for (const auto& o : overrides) texts.push_back(o.text);
  std::vector<std::shared_ptr<const Source>> sources = parse_sources(path, texts);
  for (size_t i = 0; i < overrides.size(); ++i) {
    auto src = std::make_shared<Source>(*sources[i + 1]);
    src->key_at = overrides[i].key_at;
    src->value_at = overrides[i].value_at.empty() ? overrides[i].key_at : overrides[i].value_at;
    sources[i + 1] = src;
  }
  return sources;
}

std::vector<std::shared_ptr<const Source>> parse_text_sources(const std::string& text, const std::string& origin,
                                                             const std::vector<LocatedOverride>& overrides) {
  std::vector<std::shared_ptr<const Source>> sources = parse_sources("", overrides);
  auto file = std::make_shared<Source>();
  file->file = origin;
  if (size_t at = utf8_error_at(text); at != std::string_view::npos)
    SEQ_FAIL(origin, ": not valid UTF-8 (byte ", at, ")");
  file->root = parse_yaml(text, origin);
  sources[0] = file;
  return sources;
}

struct Reader::State {
  std::shared_ptr<const Source> src;
  std::vector<Level> stack;

  std::string full(const char* key) const {
    return stack.back().path.empty() ? std::string(key) : stack.back().path + "." + key;
  }

  // Builds a level from a mapping node (null → empty level).
  Level level(const YAML::Node& node, std::string path) const {
    Level lv;
    lv.path = std::move(path);
    const std::string name = lv.path.empty() ? "the top level" : str("`", lv.path, "`");
    if (!node || node.IsNull()) return lv;
    if (!node.IsMap())
      SEQ_FAIL(where(*src, node.Mark()), ": ", lv.path.empty() ? "config" : lv.path,
               ": expected a mapping of key: value lines, got ", describe(node));
    for (auto it = node.begin(); it != node.end(); ++it) {
      YAML::Node k = it->first;  // a copy: the iterator yields a temporary pair
      std::string prefix = lv.path.empty() ? "" : lv.path + ".";
      if (!k.IsScalar()) SEQ_FAIL(where(*src, k.Mark()), ": ", name, ": keys must be plain names");
      for (const auto& e : lv.entries)
        if (e.key == k.Scalar())
          SEQ_FAIL(where(*src, k.Mark()), ": ", prefix, k.Scalar(), ": duplicate key (first at line ",
                   e.key_mark.line + 1, ")");
      lv.entries.push_back(Entry{k.Scalar(), k.Mark(), it->second, false});
    }
    return lv;
  }

  // The value the source gives for `key` at the current level, or nullptr when it gives none.
  const Entry* find(const char* key) {
    Level& lv = stack.back();
    for (const auto& k : lv.known)
      SEQ_CHECK(k != key, "config struct describes `", full(key), "` twice");
    lv.known.emplace_back(key);
    all_paths.push_back(full(key));
    for (auto& e : lv.entries)
      if (e.key == key) {
        e.claimed = true;
        return &e;
      }
    return nullptr;
  }

  [[noreturn]] void fail(const Entry& e, const YAML::Node& n, const std::string& path, const std::string& msg) const {
    YAML::Mark m = n.Mark().is_null() ? e.key_mark : n.Mark();
    SEQ_FAIL(where(*src, m), ": ", path, ": ", msg);
  }

  // The scalar text of a value that must be a number or bool; quoted strings and non-scalars fail.
  const std::string& scalar(const Entry& e, const YAML::Node& n, const std::string& path, const char* expected) const {
    if (!n.IsScalar() || quoted(n)) fail(e, n, path, str("expected ", expected, ", got ", describe(n)));
    return n.Scalar();
  }

  // Unknown keys are collected level by level and reported once the whole struct has been walked,
  // so that a key put in the wrong section can be pointed to where it belongs.
  struct Unknown {
    std::string path, key, level;
    YAML::Mark mark;
    std::vector<std::string> siblings;
  };
  std::vector<Unknown> unknown;
  std::vector<std::string> all_paths;  // every key the struct describes, full path

  void collect_unknown() {
    const Level& lv = stack.back();
    for (const auto& e : lv.entries)
      if (!e.claimed)
        unknown.push_back({lv.path.empty() ? e.key : lv.path + "." + e.key, e.key, lv.path, e.key_mark, lv.known});
  }

  void report_unknown() const {
    if (unknown.empty()) return;
    const Unknown& u = unknown.front();
    if (u.key.find('.') != std::string::npos && std::find(all_paths.begin(), all_paths.end(), u.path) != all_paths.end())
      SEQ_FAIL(where(*src, u.mark), ": ", u.path, ": dotted keys are for command-line overrides; in a file write ",
               "the sections out (`", u.path.substr(0, u.path.rfind('.')), ":` then `", u.path.substr(u.path.rfind('.') + 1),
               ":` indented below)");
    std::string hint = nearest(u.key, u.siblings);
    if (hint.empty()) {
      // The same name (or a near one) elsewhere: "users" given at the top, "simulator.users" meant.
      auto last_of = [](const std::string& p) { return p.substr(p.rfind('.') == std::string::npos ? 0 : p.rfind('.') + 1); };
      std::vector<std::string> lasts;
      for (const auto& p : all_paths) lasts.push_back(last_of(p));
      std::string want = std::find(lasts.begin(), lasts.end(), u.key) != lasts.end() ? u.key : nearest(u.key, lasts);
      std::vector<std::string> elsewhere;
      for (const auto& p : all_paths)
        if (!want.empty() && last_of(p) == want && p != u.path) elsewhere.push_back(p);
      if (!elsewhere.empty()) hint = join(elsewhere, "` or `");
    }
    std::string more = unknown.size() > 1 ? str("; ", unknown.size() - 1, " more unknown key(s): ", unknown[1].path,
                                                unknown.size() > 2 ? ", ..." : "")
                                          : "";
    SEQ_FAIL(where(*src, u.mark), ": ", u.path, ": unknown key",
             !hint.empty() ? str(" (did you mean `", hint, "`?)")
             : u.siblings.empty() ? std::string(" (nothing is configurable here)")
                                  : str(" (valid keys", u.level.empty() ? "" : " in `" + u.level + "`", ": ",
                                        join(u.siblings, ", "), ")"),
             more);
  }
};

Reader::Reader(std::shared_ptr<const Source> source) : st_(std::make_unique<State>()) {
  st_->src = std::move(source);
  st_->stack.push_back(st_->level(st_->src->root, ""));
}
Reader::~Reader() = default;

void Reader::finish() {
  SEQ_CHECK(st_->stack.size() == 1, "config reader: unbalanced sections");
  st_->collect_unknown();
  st_->report_unknown();
}

bool Reader::enter(const char* key, const char*) {
  const Entry* e = st_->find(key);
  std::string path = st_->full(key);
  st_->stack.push_back(e ? st_->level(e->value, path) : Level{path, {}, {}});
  return true;
}

void Reader::leave() {
  st_->collect_unknown();
  st_->stack.pop_back();
}

namespace {

template <typename T>
std::string bounds(T lo, T hi) {
  if constexpr (std::is_floating_point_v<T>) return str("[", format_double(lo), ", ", format_double(hi), "]");
  else return str("[", lo, ", ", hi, "]");
}

}  // namespace

// Integer value of `n` checked into [lo, hi]; `path` names it in messages.
// `current` is what the field holds before this source (its default, or the file's value): it is
// accepted even outside [lo, hi], so a sentinel default ("num_items: 0 = from the data") written
// out by config_to_yaml reads back.
static int64_t read_int(Reader::State& st, const Entry& e, const YAML::Node& n, const std::string& path,
                        int64_t lo, int64_t hi, std::optional<int64_t> current = std::nullopt) {
  const std::string& s = st.scalar(e, n, path, "an integer");
  int64_t v = 0;
  Parse r = parse_int(s, v);
  if (r == Parse::bad) {
    double d;
    bool looks_float = parse_double(s, d) == Parse::ok;
    st.fail(e, n, path, str("expected an integer, got `", shown(s), "`", looks_float ? " (a float)" : ""));
  }
  if (r == Parse::out_of_range || ((v < lo || v > hi) && v != current))
    st.fail(e, n, path, str("value ", shown(s), " is out of range ", bounds(lo, hi)));
  return v;
}

static double read_double(Reader::State& st, const Entry& e, const YAML::Node& n, const std::string& path,
                          double lo, double hi, std::optional<double> current = std::nullopt) {
  const std::string& s = st.scalar(e, n, path, "a number");
  double v = 0;
  Parse r = parse_double(s, v);
  if (r == Parse::bad) st.fail(e, n, path, str("expected a number, got `", shown(s), "`"));
  if (std::isnan(v)) st.fail(e, n, path, "NaN is not a valid setting");
  if (r == Parse::out_of_range || (!(v >= lo && v <= hi) && v != current))
    st.fail(e, n, path, str("value ", shown(s), " is out of range ", bounds(lo, hi)));
  return v;
}

static std::string read_string(Reader::State& st, const Entry& e, const YAML::Node& n, const std::string& path) {
  if (n.IsNull()) st.fail(e, n, path, "empty value (write \"\" for an empty string)");
  if (!n.IsScalar()) st.fail(e, n, path, str("expected a string, got ", describe(n)));
  // Strings end up in JSON records (run.json, manifests) and file names: they must be UTF-8.
  if (size_t at = utf8_error_at(n.Scalar()); at != std::string_view::npos)
    st.fail(e, n, path, str("`", shown(n.Scalar()), "` is not valid UTF-8 (byte ", at, ")"));
  return n.Scalar();
}

// Calls `elem(node, "key[i]")` for each element of a sequence value.
template <typename F>
static void for_each_element(Reader::State& st, const Entry& e, const std::string& path, F elem) {
  const YAML::Node& n = e.value;
  if (!n.IsSequence()) st.fail(e, n, path, str("expected a sequence such as [a, b], got ", describe(n)));
  for (size_t i = 0; i < n.size(); ++i) elem(n[i], str(path, "[", i, "]"));
}

void Reader::field(const char* key, int64_t& x, const char*, int64_t lo, int64_t hi) {
  const Entry* e = st_->find(key);
  std::string path = st_->full(key);
  if (!e) return;
  x = read_int(*st_, *e, e->value, path, lo, hi, x);
}

void Reader::field_u64(const char* key, uint64_t& x, const char*, uint64_t lo, uint64_t hi) {
  const Entry* e = st_->find(key);
  if (!e) return;
  std::string path = st_->full(key);
  const std::string& s = st_->scalar(*e, e->value, path, "an unsigned integer");
  uint64_t v = 0;
  Parse r = parse_u64(s, v);
  if (r == Parse::bad) st_->fail(*e, e->value, path, str("expected an unsigned integer, got `", shown(s), "`"));
  if (r == Parse::out_of_range || ((v < lo || v > hi) && v != x))
    st_->fail(*e, e->value, path, str("value ", shown(s), " is out of range ", bounds(lo, hi)));
  x = v;
}

void Reader::field(const char* key, double& x, const char*, double lo, double hi) {
  const Entry* e = st_->find(key);
  std::string path = st_->full(key);
  if (!e) return;
  x = read_double(*st_, *e, e->value, path, lo, hi, x);
}

void Reader::field_float(const char* key, float& x, const char*, double lo, double hi) {
  const Entry* e = st_->find(key);
  std::string path = st_->full(key);
  if (!e) return;
  // Parsed straight to float (no double rounding on the way) and range-checked as a float, so
  // that the shortest float text the writer prints (3.4028235e+38 for FLT_MAX) reads back.
  const std::string& s = st_->scalar(*e, e->value, path, "a number");
  float v = 0;
  Parse r = parse_float(s, v);
  if (r == Parse::bad) st_->fail(*e, e->value, path, str("expected a number, got `", shown(s), "`"));
  if (std::isnan(v)) st_->fail(*e, e->value, path, "NaN is not a valid setting");
  if (r == Parse::out_of_range || (!(v >= lo && v <= hi) && v != x))
    st_->fail(*e, e->value, path, str("value ", shown(s), " is out of range ", bounds(lo, hi), " (a float)"));
  x = v;
}

void Reader::field(const char* key, bool& x, const char*) {
  const Entry* e = st_->find(key);
  if (!e) return;
  std::string path = st_->full(key);
  const std::string& s = st_->scalar(*e, e->value, path, "true or false");
  if (!parse_bool(s, x)) st_->fail(*e, e->value, path, str("expected true or false, got `", shown(s), "`"));
}

// Not through find(): a retired key is no known name (no "did you mean" points to it), only a
// claimed one.
bool Reader::retired(const char* key, bool& x, const char* use_instead) {
  Entry* e = nullptr;
  const Entry* now = nullptr;
  for (auto& entry : st_->stack.back().entries) {
    if (entry.key == key) e = &entry;
    if (entry.key == use_instead) now = &entry;
  }
  if (!e) return false;
  e->claimed = true;
  const std::string path = st_->full(key);
  const std::string& s = st_->scalar(*e, e->value, path, "true or false");
  bool v = false;
  if (!parse_bool(s, v)) st_->fail(*e, e->value, path, str("expected true or false, got `", shown(s), "`"));
  if (now && v != x)
    st_->fail(*e, e->value, path,
              str("`", shown(s), "` disagrees with ", st_->full(use_instead), " ", describe(now->value),
                  " beside it; ", key, " is retired: write ", use_instead, " alone"));
  x = v;
  return true;
}

void Reader::field(const char* key, std::string& x, const char*) {
  const Entry* e = st_->find(key);
  if (e) x = read_string(*st_, *e, e->value, st_->full(key));
}

void Reader::field(const char* key, std::vector<int64_t>& x, const char*, int64_t lo, int64_t hi) {
  const Entry* e = st_->find(key);
  std::string path = st_->full(key);
  if (!e) return;
  std::vector<int64_t> out;
  for_each_element(*st_, *e, path, [&](const YAML::Node& n, const std::string& p) {
    out.push_back(read_int(*st_, *e, n, p, lo, hi));
  });
  x = std::move(out);
}

void Reader::field(const char* key, std::vector<double>& x, const char*, double lo, double hi) {
  const Entry* e = st_->find(key);
  std::string path = st_->full(key);
  if (!e) return;
  std::vector<double> out;
  for_each_element(*st_, *e, path, [&](const YAML::Node& n, const std::string& p) {
    out.push_back(read_double(*st_, *e, n, p, lo, hi));
  });
  x = std::move(out);
}

void Reader::field(const char* key, std::vector<std::string>& x, const char*) {
  const Entry* e = st_->find(key);
  if (!e) return;
  std::vector<std::string> out;
  for_each_element(*st_, *e, st_->full(key), [&](const YAML::Node& n, const std::string& p) {
    out.push_back(read_string(*st_, *e, n, p));
  });
  x = std::move(out);
}

void Reader::choice(const char* key, std::string& x, std::initializer_list<const char*> choices, const char*) {
  const Entry* e = st_->find(key);
  std::string path = st_->full(key);
  std::vector<std::string> names(choices.begin(), choices.end());
  auto allowed = [&](const std::string& v) { return std::find(names.begin(), names.end(), v) != names.end(); };
  if (!e) return;
  std::string v = read_string(*st_, *e, e->value, path);
  if (!allowed(v) && v != x) {  // a sentinel default outside the set reads back, as for numbers
    std::string hint = nearest(v, names);
    st_->fail(*e, e->value, path,
              str("`", shown(v), "` is not one of: ", join(names, ", "), hint.empty() ? "" : " (did you mean `" + hint + "`?)"));
  }
  x = std::move(v);
}

}  // namespace seqmend::config_detail
