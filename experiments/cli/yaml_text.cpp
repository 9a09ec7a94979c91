#include "experiments/cli/yaml_text.h"

#include <sstream>
#include <vector>

namespace seqmend {

namespace {

std::string double_quoted(const std::string& s) {
  static const char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += char(c);
    }
  }
  return out + "\"";
}

std::string key_text(const YAML::Node& k) {
  const std::string s = k.IsScalar() ? k.Scalar() : "";
  const bool plain = !s.empty() && s.find_first_of(":#,[]{}'\"\n&*!|>%@`") == std::string::npos && s.front() != ' ' &&
                     s.back() != ' ' && s.front() != '-' && s.front() != '?';
  return plain && !yaml_quoted(k) ? s : double_quoted(s);
}

void block(const YAML::Node& map, int indent, std::string& out) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    out += std::string(size_t(indent), ' ') + key_text(it->first) + ":";
    const YAML::Node v = it->second;  // a copy: it-> hands out a temporary, a reference would dangle
    if (v.IsMap() && v.size() > 0) {
      out += "\n";
      block(v, indent + 2, out);
    } else if (v.IsNull()) {
      out += "\n";
    } else {
      out += " " + yaml_value_text(v) + "\n";
    }
  }
}

}  // namespace

bool yaml_quoted(const YAML::Node& n) { return n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str"; }

std::string yaml_value_text(const YAML::Node& n, bool in_flow) {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    // A plain scalar of a block context can hold `,[]{}`, which a flow context would cut up; one
    // that starts or ends in a blank or holds a comment or mapping mark could only be a quoted one.
    const bool unsafe = (in_flow && s.find_first_of(",[]{}") != std::string::npos) || s.empty() || s.front() == ' ' ||
                        s.back() == ' ' || s.find(": ") != std::string::npos || s.find(" #") != std::string::npos ||
                        s.find('\n') != std::string::npos;
    return yaml_quoted(n) || unsafe ? double_quoted(s) : s;
  }
  if (n.IsSequence()) {
    std::string out = "[";
    for (size_t i = 0; i < n.size(); ++i) out += (i ? ", " : "") + yaml_value_text(n[i], true);
    return out + "]";
  }
  if (n.IsMap()) {
    std::string out = "{";
    bool first = true;
    for (auto it = n.begin(); it != n.end(); ++it) {
      out += (first ? "" : ", ") + key_text(it->first) + ": " + yaml_value_text(it->second, true);
      first = false;
    }
    return out + "}";
  }
  return "null";
}

std::string yaml_block_text(const YAML::Node& map) {
  std::string out;
  if (map.IsMap()) block(map, 0, out);
  return out;
}

void yaml_set_dotted(YAML::Node& root, const std::string& dotted, const YAML::Node& value) {
  std::vector<std::string> parts;
  std::stringstream ss(dotted);
  for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
  YAML::Node cur = root;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node child = cur[parts[i]];
    if (!child.IsMap()) {
      child = YAML::Node(YAML::NodeType::Map);
      cur[parts[i]] = child;
    }
    cur.reset(child);  // rebinds the handle; `cur = child` would overwrite the parent's node
  }
  cur[parts.back()] = value;
}

}  // namespace seqmend
