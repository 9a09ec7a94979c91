#include "experiments/cli/sweep_spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "core/base/error.h"
#include "experiments/cli/pipeline.h"
#include "experiments/cli/yaml_text.h"
#include "io/config_text.h"
#include "io/utf8.h"

namespace fs = std::filesystem;

namespace seqmend {

namespace {

using config_detail::join;
using config_detail::nearest;

struct Reader {
  std::string file;

  std::string at(const YAML::Mark& m) const { return str(file, ":", m.line + 1, ":", m.column + 1); }

  [[noreturn]] void fail(const YAML::Node& n, const std::string& path, const std::string& msg) const {
    SEQ_FAIL(at(n.Mark()), ": ", path, ": ", msg);
  }
};

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar:
      return str("`", shown(n.Scalar()), "`");
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "an empty value";
  }
}

std::string value_name(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  std::vector<std::string> parts;
  for (const auto& e : n) parts.push_back(value_name(e));
  return join(parts, "-");
}

// A scalar as JSON for sweep.json: numbers and bools as such unless quoted.
nlohmann::json scalar_json(const YAML::Node& n) {
  if (n.IsNull()) return nullptr;
  if (n.IsSequence()) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& e : n) a.push_back(scalar_json(e));
    return a;
  }
  if (!n.IsScalar()) return nullptr;
  const std::string& s = n.Scalar();
  if (yaml_quoted(n)) return s;
  int64_t i;
  double d;
  bool b;
  if (config_detail::parse_int(s, i) == config_detail::Parse::ok) return i;
  if (config_detail::parse_double(s, d) == config_detail::Parse::ok && std::isfinite(d)) return d;
  if (config_detail::parse_bool(s, b)) return b;
  return s;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SEQ_CHECK(bool(in), "sweep: cannot read ", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

YAML::Node parse(const std::string& text, const std::string& origin) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    SEQ_FAIL(origin, e.mark.is_null() ? "" : str(":", e.mark.line + 1, ":", e.mark.column + 1),
             ": YAML syntax error: ", e.msg);
  }
}

// Keys are dotted config paths: names of letters, digits, `_` and `-`, as overrides take them.
void check_key(const Reader& r, const YAML::Node& k, const std::string& section) {
  if (!k.IsScalar()) r.fail(k, section, "keys must be dotted config paths such as model.d_model");
  const std::string& key = k.Scalar();
  bool ok =
      !key.empty() && key.front() != '.' && key.back() != '.' && key.find("..") == std::string::npos &&
      key.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") == std::string::npos;
  if (!ok) r.fail(k, section + "." + key, "keys must be dotted config paths such as model.d_model");
}

// A value of a key: a scalar or a flow sequence of scalars, never a mapping (that would be a
// nested section: write its keys out as dotted paths).
void check_value(const Reader& r, const YAML::Node& v, const std::string& path) {
  if (v.IsNull()) r.fail(v, path, "empty value (write \"\" for an empty string)");
  if (v.IsMap()) r.fail(v, path, "expected a value, got a mapping (write nested keys as dotted paths: model.d_model)");
  if (v.IsSequence())
    for (size_t i = 0; i < v.size(); ++i)
      if (!v[i].IsScalar()) r.fail(v[i], str(path, "[", i, "]"), str("expected a scalar, got ", describe(v[i])));
  if (v.IsScalar())
    if (size_t bad = utf8_error_at(v.Scalar()); bad != std::string_view::npos)
      r.fail(v, path, str("`", shown(v.Scalar()), "` is not valid UTF-8 (byte ", bad, ")"));
}

SweepValue make_value(const Reader& r, const YAML::Node& k, const YAML::Node& v) {
  return SweepValue{k.Scalar(), yaml_value_text(v), value_name(v), r.at(k.Mark()), r.at(v.Mark())};
}

// The mapping's entries in file order, duplicate keys refused.
std::vector<std::pair<YAML::Node, YAML::Node>> entries(const Reader& r, const YAML::Node& map,
                                                       const std::string& section) {
  std::vector<std::pair<YAML::Node, YAML::Node>> out;
  for (auto it = map.begin(); it != map.end(); ++it) {
    YAML::Node k = it->first, v = it->second;
    check_key(r, k, section);
    for (const auto& [k2, v2] : out)
      if (k2.Scalar() == k.Scalar())
        r.fail(k, (section.empty() ? "" : section + ".") + k.Scalar(),
               str("duplicate key (first at line ", k2.Mark().line + 1, ")"));
    out.emplace_back(k, v);
  }
  return out;
}

const YAML::Node& require_map(const Reader& r, const YAML::Node& n, const std::string& path, const char* example) {
  if (!n.IsMap()) r.fail(n, path, str("expected a mapping (", example, "), got ", describe(n)));
  return n;
}

const YAML::Node& require_list(const Reader& r, const YAML::Node& n, const std::string& path, const char* example) {
  if (!n.IsSequence() || n.size() == 0)
    r.fail(n, path, str("expected a non-empty list (", example, "), got ", n.IsSequence() ? "[]" : describe(n)));
  return n;
}

// The sweep file's text with every line outside the inline base blanked: read as YAML it is the
// base alone, at its own lines and columns. The base runs from its value's mark to the line before
// the next top-level key.
std::string inline_base_text(const std::string& text, const YAML::Node& root, const YAML::Node& base_key,
                             const YAML::Node& base) {
  const int first = base.Mark().line, col = base.Mark().column;
  int end = std::numeric_limits<int>::max();  // first line after the base
  for (auto it = root.begin(); it != root.end(); ++it)
    if (it->first.Mark().line > base_key.Mark().line) end = std::min(end, it->first.Mark().line);
  std::istringstream in(text);
  std::string line, out;
  for (int i = 0; std::getline(in, line); ++i) {
    if (i == first) out += std::string(size_t(col), ' ') + line.substr(std::min(line.size(), size_t(col)));
    else if (i > first && i < end) out += line;
    out += "\n";
  }
  return out;
}

// Whether a base mapping is a pipeline file (its top level names pipeline sections).
bool looks_like_pipeline(const YAML::Node& base) {
  if (!base.IsMap()) return false;
  for (auto it = base.begin(); it != base.end(); ++it) {
    const std::string k = it->first.IsScalar() ? it->first.Scalar() : "";
    if (k == "run_dir" || k == "data" || k == "simulate" || k == "ingest" || k == "corrupt") return true;
    for (const auto& s : pipeline_stage_order())
      if (k == s && k != "data") return true;
  }
  return false;
}

// The short names of the naming keys: the shortest dotted suffix no other key shares.
std::map<std::string, std::string> short_names(const std::vector<std::string>& keys) {
  auto split = [](const std::string& k) {
    std::vector<std::string> parts;
    std::stringstream ss(k);
    for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
    return parts;
  };
  auto suffix = [&](const std::string& k, size_t n) {
    auto parts = split(k);
    n = std::min(n, parts.size());
    return join(std::vector<std::string>(parts.end() - long(n), parts.end()), ".");
  };
  std::map<std::string, std::string> out;
  for (const auto& k : keys) {
    const size_t depth = split(k).size();
    for (size_t n = 1; n <= depth; ++n) {
      const std::string s = suffix(k, n);
      bool unique = true;
      for (const auto& other : keys)
        if (other != k && suffix(other, n) == s) unique = false;
      if (unique || n == depth) {
        out[k] = s;
        break;
      }
    }
  }
  return out;
}

}  // namespace

std::string filesystem_safe(const std::string& value) {
  std::string out;
  for (unsigned char c : value)
    out += (std::isalnum(c) || c == '.' || c == '_' || c == '+' || c == '-') && c < 0x80 ? char(c) : '_';
  return out.empty() ? "_" : out;
}

std::string point_name(const std::vector<SweepValue>& values, const std::vector<std::string>& keys, bool has_seed,
                       uint64_t seed) {
  std::vector<std::string> naming = keys;
  if (has_seed) naming.push_back("seed");  // so that a grid key `canaries.seed` is not named `seed`
  const auto shorts = short_names(naming);
  std::vector<std::string> parts;
  for (const auto& k : keys)
    for (const auto& v : values)
      if (v.key == k) parts.push_back(shorts.at(k) + "=" + filesystem_safe(v.name));
  if (has_seed) parts.push_back(str("seed=", seed));
  return parts.empty() ? "base" : join(parts, ",");
}

namespace {

// The sweep file read section by section into a SweepSpec; `claimed` remembers where each key got
// its values, so that a key given in two places is refused at the second.
class SpecReader {
 public:
  SpecReader(const std::string& path, const std::string& text, const YAML::Node& root)
      : r_{path}, text_(text), root_(root) {
    spec_.file = path;
    spec_.as_written = nlohmann::json::object();
    static const std::vector<std::string> known = {"base", "kind",   "set",   "grid",
                                                   "zip",  "points", "seeds", "seed_keys"};
    for (const auto& [k, v] : entries(r_, root, "")) {
      if (std::find(known.begin(), known.end(), k.Scalar()) == known.end()) {
        std::string hint = nearest(k.Scalar(), known);
        r_.fail(k, k.Scalar(),
                hint.empty() ? str("unknown key (valid keys: ", join(known, ", "), ")")
                             : str("unknown key (did you mean `", hint, "`?)"));
      }
      top_[k.Scalar()] = {k, v};
    }
  }

  SweepSpec read() {
    read_base_and_kind();
    read_set();
    read_grid();
    read_zip();
    read_points();
    read_seeds();
    expand();
    disambiguate_names();
    return spec_;
  }

 private:
  bool has(const char* k) const { return top_.count(k) > 0; }
  const YAML::Node& value(const char* k) { return top_[k].second; }

  void claim(const YAML::Node& k, const std::string& where_path) {
    auto it = claimed_.find(k.Scalar());
    if (it != claimed_.end())
      r_.fail(k, where_path,
              str("`", k.Scalar(), "` is already varied or set by ", it->second,
                  " (a key takes its values from one place)"));
    claimed_[k.Scalar()] = str(where_path.substr(0, where_path.find('.')), " at line ", k.Mark().line + 1);
  }

  void read_base_and_kind() {
    if (!has("base")) SEQ_FAIL(r_.file, ": base: required (a config file's path, or the config inline)");
    const auto& [base_key, base] = top_["base"];
    YAML::Node base_tree;
    if (base.IsScalar()) {
      spec_.base_path = base.Scalar();
      if (spec_.base_path.empty() || !fs::is_regular_file(spec_.base_path))
        r_.fail(base, "base",
                str("no config file `", shown(spec_.base_path), "` (paths are read from the working directory, ",
                    fs::current_path().string(), ")"));
      spec_.base_text = read_text(spec_.base_path);
      spec_.base_origin = spec_.base_path;
      base_tree = parse(spec_.base_text, spec_.base_path);
    } else if (base.IsMap()) {
      spec_.base_text = inline_base_text(text_, root_, base_key, base);
      spec_.base_origin = r_.file;
      base_tree = base;
    } else {
      r_.fail(base, "base", str("expected a config file's path or an inline mapping, got ", describe(base)));
    }
    if (!has("kind")) {
      spec_.kind = looks_like_pipeline(base_tree) ? "pipeline" : "pretrain";
      return;
    }
    const YAML::Node& kind = value("kind");
    if (!kind.IsScalar()) r_.fail(kind, "kind", str("expected pretrain or pipeline, got ", describe(kind)));
    spec_.kind = kind.Scalar();
    if (spec_.kind != "pretrain" && spec_.kind != "pipeline") {
      std::string hint = nearest(spec_.kind, {"pretrain", "pipeline"});
      r_.fail(kind, "kind",
              str("`", shown(spec_.kind), "` is not one of: pretrain, pipeline",
                  hint.empty() ? "" : " (did you mean `" + hint + "`?)"));
    }
  }

  void read_set() {
    if (!has("set")) return;
    const YAML::Node& set = require_map(r_, value("set"), "set", "data_dir: /tmp/data");
    for (const auto& [k, v] : entries(r_, set, "set")) {
      check_value(r_, v, "set." + k.Scalar());
      claim(k, "set." + k.Scalar());
      fixed_.push_back(make_value(r_, k, v));
      spec_.as_written["set"][k.Scalar()] = scalar_json(v);
    }
  }

  void read_grid() {
    if (!has("grid")) return;
    const YAML::Node& grid = require_map(r_, value("grid"), "grid", "model.d_model: [32, 64]");
    for (const auto& [k, v] : entries(r_, grid, "grid")) {
      const std::string p = "grid." + k.Scalar();
      require_list(r_, v, p, "model.d_model: [32, 64]");
      claim(k, p);
      spec_.keys.push_back(k.Scalar());
      std::vector<std::vector<SweepValue>> dim;
      for (size_t i = 0; i < v.size(); ++i) {
        check_value(r_, v[i], str(p, "[", i, "]"));
        dim.push_back({make_value(r_, k, v[i])});
      }
      dims_.push_back(dim);
      spec_.as_written["grid"][k.Scalar()] = scalar_json(v);
    }
  }

  void read_zip() {
    if (!has("zip")) return;
    YAML::Node zip = value("zip");
    std::vector<YAML::Node> groups;
    if (zip.IsMap()) groups.push_back(zip);  // one group written without the list
    else
      for (const auto& g : require_list(r_, zip, "zip", "- {model.d_model: [64, 128], optim.lr: [0.001, 0.0005]}"))
        groups.push_back(g);
    spec_.as_written["zip"] = nlohmann::json::array();
    for (size_t gi = 0; gi < groups.size(); ++gi) {
      const std::string gp = str("zip[", gi, "]");
      require_map(r_, groups[gi], gp, "model.d_model: [64, 128] with optim.lr: [0.001, 0.0005]");
      std::vector<std::vector<SweepValue>> dim;
      nlohmann::json written = nlohmann::json::object();
      YAML::Node first_key;
      for (const auto& [k, v] : entries(r_, groups[gi], gp)) {
        const std::string p = gp + "." + k.Scalar();
        require_list(r_, v, p, "optim.lr: [0.001, 0.0005]");
        claim(k, p);
        if (dim.empty()) {
          dim.resize(v.size());
          first_key = k;
        } else if (v.size() != dim.size()) {
          r_.fail(
              v, p,
              str(v.size(), v.size() == 1 ? " value" : " values", ", but `", first_key.Scalar(), "` (line ",
                  first_key.Mark().line + 1, ") has ", dim.size(), ": keys zipped together need lists of one length"));
        }
        spec_.keys.push_back(k.Scalar());
        for (size_t i = 0; i < v.size(); ++i) {
          check_value(r_, v[i], str(p, "[", i, "]"));
          dim[i].push_back(make_value(r_, k, v[i]));
        }
        written[k.Scalar()] = scalar_json(v);
      }
      if (dim.empty()) r_.fail(groups[gi], gp, "an empty group (give two or more keys with lists of one length)");
      dims_.push_back(dim);
      spec_.as_written["zip"].push_back(written);
    }
  }

  // The product of the grid and zip dimensions (none: the base alone), then the explicit points.
  void read_points() {
    combos_ = {{}};
    for (const auto& dim : dims_) {
      std::vector<std::vector<SweepValue>> next;
      for (const auto& c : combos_)
        for (const auto& entry : dim) {
          auto n = c;
          n.insert(n.end(), entry.begin(), entry.end());
          next.push_back(n);
        }
      combos_ = next;
    }
    if (dims_.empty() && has("points")) combos_.clear();  // only the explicit points
    combo_where_.assign(combos_.size(), "");
    if (!has("points")) return;
    const YAML::Node& points = require_list(r_, value("points"), "points", "- {model.d_model: 256}");
    spec_.as_written["points"] = nlohmann::json::array();
    const std::set<std::string> grid_keys(spec_.keys.begin(), spec_.keys.end());
    for (size_t i = 0; i < points.size(); ++i) {
      const std::string pp = str("points[", i, "]");
      require_map(r_, points[i], pp, "model.d_model: 256");
      std::vector<SweepValue> values;
      nlohmann::json written = nlohmann::json::object();
      for (const auto& [k, v] : entries(r_, points[i], pp)) {
        const std::string p = pp + "." + k.Scalar();
        check_value(r_, v, p);
        if (auto it = claimed_.find(k.Scalar()); it != claimed_.end() && !grid_keys.count(k.Scalar()))
          r_.fail(k, p, str("`", k.Scalar(), "` is set for every point by ", it->second));
        if (std::find(spec_.keys.begin(), spec_.keys.end(), k.Scalar()) == spec_.keys.end())
          spec_.keys.push_back(k.Scalar());
        values.push_back(make_value(r_, k, v));
        written[k.Scalar()] = scalar_json(v);
      }
      combos_.push_back(values);
      combo_where_.push_back(r_.at(points[i].Mark()));
      spec_.as_written["points"].push_back(written);
    }
  }

  void read_seeds() {
    if (has("seed_keys")) {
      const YAML::Node& sk = require_list(r_, value("seed_keys"), "seed_keys", "[seed, model.seed]");
      for (size_t i = 0; i < sk.size(); ++i) {
        check_key(r_, sk[i], str("seed_keys[", i, "]"));
        spec_.seed_keys.push_back(sk[i].Scalar());
      }
    } else {
      spec_.seed_keys = spec_.kind == "pipeline" ? std::vector<std::string>{"pretrain.seed", "pretrain.model.seed"}
                                                 : std::vector<std::string>{"seed", "model.seed"};
    }
    if (!has("seeds")) return;
    const YAML::Node& seeds = require_list(r_, value("seeds"), "seeds", "[1, 2, 3]");
    for (size_t i = 0; i < seeds.size(); ++i) {
      const std::string p = str("seeds[", i, "]");
      uint64_t s = 0;
      if (!seeds[i].IsScalar() || yaml_quoted(seeds[i]) ||
          config_detail::parse_u64(seeds[i].Scalar(), s) != config_detail::Parse::ok)
        r_.fail(seeds[i], p, str("expected an unsigned integer, got ", describe(seeds[i])));
      if (std::find(spec_.seeds.begin(), spec_.seeds.end(), s) != spec_.seeds.end())
        r_.fail(seeds[i], p, str("seed ", s, " is listed twice"));
      spec_.seeds.push_back(s);
      seed_at_.push_back(r_.at(seeds[i].Mark()));
    }
    for (const auto& key : spec_.seed_keys)
      if (auto it = claimed_.find(key); it != claimed_.end())
        SEQ_FAIL(r_.file, ": ", key, ": set by the seeds (seed_keys) and by ", it->second, "; give it in one place");
    spec_.as_written["seeds"] = spec_.seeds;
  }

  // Every combination once per seed, seeds innermost; a combination given twice is refused.
  void expand() {
    const std::string seeds_at = has("seeds") ? r_.at(value("seeds").Mark()) : "";
    std::map<std::string, size_t> by_overrides;  // exact overrides → combination
    for (size_t c = 0; c < combos_.size(); ++c) {
      std::vector<SweepValue> values;
      for (const auto& k : spec_.keys)
        for (const auto& v : combos_[c])
          if (v.key == k) values.push_back(v);
      std::vector<std::string> texts;
      for (const auto& v : values) texts.push_back(v.override_text());
      if (!by_overrides.emplace(join(texts, "\n"), c).second)
        SEQ_FAIL(combo_where_[c].empty() ? r_.file : combo_where_[c], ": ", combo_where_[c].empty() ? "grid" : "points",
                 ": the point (", texts.empty() ? "no overrides" : join(texts, ", "), ") is given twice");
      const size_t runs = std::max<size_t>(1, spec_.seeds.size());
      for (size_t si = 0; si < runs; ++si) {
        SweepPoint p;
        p.index = int64_t(spec_.points.size());
        p.values = values;
        p.has_seed = !spec_.seeds.empty();
        p.seed = p.has_seed ? spec_.seeds[si] : 0;
        p.name = point_name(p.values, spec_.keys, p.has_seed, p.seed);
        p.config = point_name(p.values, spec_.keys, false, 0);
        p.overrides = fixed_;
        p.overrides.insert(p.overrides.end(), p.values.begin(), p.values.end());
        if (p.has_seed)
          for (const auto& key : spec_.seed_keys)
            p.overrides.push_back({key, str(p.seed), str(p.seed), seeds_at, seed_at_[si]});
        spec_.points.push_back(p);
      }
    }
  }

  // Distinct values can sanitise to one name, and names have a length limit: a hash of the exact
  // values tells such configs apart and keeps the name stable.
  void disambiguate_names() {
    std::map<std::string, int> uses;
    for (const auto& p : spec_.points) ++uses[p.name];
    for (auto& p : spec_.points) {
      if (uses[p.name] == 1 && p.name.size() <= 160) continue;
      std::vector<std::string> texts;
      for (const auto& v : p.values) texts.push_back(v.override_text());
      const std::string h = stage_key_hash(join(texts, "\n")).substr(0, 8);
      p.config = p.config.substr(0, std::min<size_t>(p.config.size(), 140)) + "~" + h;
      p.name = p.has_seed ? str(p.config, ",seed=", p.seed) : p.config;
    }
  }

  Reader r_;
  const std::string& text_;
  const YAML::Node& root_;
  SweepSpec spec_;
  std::map<std::string, std::pair<YAML::Node, YAML::Node>> top_;
  std::map<std::string, std::string> claimed_;  // key → where it was first given
  std::vector<SweepValue> fixed_;               // set:
  // Dimensions of the product: one entry per position, each the values set together there.
  std::vector<std::vector<std::vector<SweepValue>>> dims_;
  std::vector<std::vector<SweepValue>> combos_;  // the product, then the explicit points
  std::vector<std::string> combo_where_;         // an explicit point's place, "" for the product's
  std::vector<std::string> seed_at_;             // each seed's place
};

}  // namespace

SweepSpec read_sweep_spec(const std::string& path) {
  if (!fs::is_regular_file(path)) SEQ_FAIL("sweep: sweep file '", path, "' does not exist");
  const std::string text = read_text(path);
  if (size_t bad = utf8_error_at(text); bad != std::string_view::npos)
    SEQ_FAIL(path, ": not valid UTF-8 (byte ", bad, ")");
  const YAML::Node root = parse(text, path);
  if (!root.IsMap()) SEQ_FAIL(path, ": the top level must be a mapping (base:, grid:, seeds: ...)");
  if (root.Style() == YAML::EmitterStyle::Flow)
    SEQ_FAIL(path, ": write the top level as block lines, one key per line");
  return SpecReader(path, text, root).read();
}

}  // namespace seqmend
