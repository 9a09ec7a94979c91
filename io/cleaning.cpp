#include "io/cleaning.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/base/error.h"
#include "io/log_parsers.h"

namespace seqmend {
namespace {

// Rows [begin, end) of each user in a table sorted by user: calls fn(begin, end).
template <typename Fn>
void for_each_user_run(const EventTable& t, Fn&& fn) {
  const int64_t n = t.size();
  int64_t b = 0;
  while (b < n) {
    int64_t e = b + 1;
    while (e < n && t.user[size_t(e)] == t.user[size_t(b)]) ++e;
    fn(b, e);
    b = e;
  }
}

bool same_event(const EventTable& t, int64_t a, int64_t b) {
  size_t i = size_t(a), j = size_t(b);
  return t.item[i] == t.item[j] && (t.action.empty() || t.action[i] == t.action[j]) &&
         (t.rating.empty() || t.rating[i] == t.rating[j]);
}

}  // namespace

int64_t count_distinct_users(const EventTable& t) {
  std::vector<uint8_t> seen(size_t(t.users.size()), 0);
  int64_t n = 0;
  for (int32_t u : t.user) n += seen[size_t(u)] ? 0 : (seen[size_t(u)] = 1);
  return n;
}

int64_t count_distinct_items(const EventTable& t) {
  std::vector<uint8_t> seen(size_t(t.items.size()), 0);
  int64_t n = 0;
  for (int32_t i : t.item) n += seen[size_t(i)] ? 0 : (seen[size_t(i)] = 1);
  return n;
}

nlohmann::json filter_actions(EventTable& t, const std::vector<std::string>& names) {
  if (names.empty()) return {{"skipped", "no keep_actions given"}};
  SEQ_CHECK(t.has_actions(), "ingest: clean.keep_actions is set but the input has no action column");
  bool keep_code[256] = {};
  for (auto& name : names) {
    int code = action_code_from_name(name);
    SEQ_CHECK(code >= 0, "ingest: clean.keep_actions: unknown action '", name,
              "' (view, click, cart, buy, favorite)");
    keep_code[code] = true;
  }
  std::vector<uint8_t> keep(size_t(t.size()));
  int64_t removed = 0;
  for (size_t r = 0; r < keep.size(); ++r) {
    keep[r] = keep_code[uint8_t(t.action[r])];
    removed += !keep[r];
  }
  t.compact(keep);
  return {{"removed", removed}, {"kept_actions", names}};
}

nlohmann::json sort_events(EventTable& t) {
  // Renumber users so that index order is the final order (ascending numeric id), then counting-sort
  // rows by user — stable, so each user's rows stay in file order — then stable-sort each user's
  // rows by timestamp, which leaves ties in file order.
  const size_t num_users = size_t(t.users.size());
  std::vector<int32_t> rank(num_users);
  if (!t.users.is_token) {
    std::vector<int32_t> order(num_users);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](int32_t a, int32_t b) { return t.users.numeric[size_t(a)] < t.users.numeric[size_t(b)]; });
    std::vector<int64_t> ids(num_users);
    for (size_t r = 0; r < num_users; ++r) {
      rank[size_t(order[r])] = int32_t(r);
      ids[r] = t.users.numeric[size_t(order[r])];
    }
    t.users.numeric.swap(ids);
    for (int32_t& u : t.user) u = rank[size_t(u)];
  }
  std::vector<int64_t> start(num_users + 1, 0);
  for (int32_t u : t.user) ++start[size_t(u) + 1];
  for (size_t u = 0; u < num_users; ++u) start[u + 1] += start[u];
  std::vector<int64_t> perm(size_t(t.size()));
  {
    std::vector<int64_t> fill(start.begin(), start.end() - 1);
    for (size_t r = 0; r < perm.size(); ++r) perm[size_t(fill[size_t(t.user[r])]++)] = int64_t(r);
  }
  int64_t users_reordered = 0;
  if (t.has_timestamps()) {
    const auto& ts = t.timestamp;
    auto by_time = [&](int64_t a, int64_t b) { return ts[size_t(a)] < ts[size_t(b)]; };
    for (size_t u = 0; u < num_users; ++u) {
      auto b = perm.begin() + start[u], e = perm.begin() + start[u + 1];
      if (std::is_sorted(b, e, by_time)) continue;
      std::stable_sort(b, e, by_time);
      ++users_reordered;
    }
  }
  t.permute(perm);
  return {{"order", t.has_timestamps() ? "user, timestamp, file row" : "user, file row"},
          {"users_reordered_by_time", users_reordered}};
}

nlohmann::json drop_duplicates(EventTable& t) {
  if (!t.has_timestamps()) return {{"skipped", "no timestamps: repeated items are kept as behaviour"}};
  const int64_t n = t.size();
  std::vector<uint8_t> keep(size_t(n), 1);
  std::vector<int64_t> run;
  int64_t removed = 0;
  int64_t b = 0;
  while (b < n) {
    // A run of rows with equal (user, timestamp); duplicates can only sit inside one run.
    int64_t e = b + 1;
    while (e < n && t.user[size_t(e)] == t.user[size_t(b)] && t.timestamp[size_t(e)] == t.timestamp[size_t(b)]) ++e;
    if (e - b > 1) {
      if (e - b <= 32) {
        for (int64_t i = b + 1; i < e; ++i)
          for (int64_t j = b; j < i; ++j)
            if (keep[size_t(j)] && same_event(t, i, j)) {
              keep[size_t(i)] = 0;
              ++removed;
              break;
            }
      } else {
        run.resize(size_t(e - b));
        std::iota(run.begin(), run.end(), b);
        std::sort(run.begin(), run.end(), [&](int64_t x, int64_t y) {
          size_t i = size_t(x), j = size_t(y);
          if (t.item[i] != t.item[j]) return t.item[i] < t.item[j];
          if (!t.action.empty() && t.action[i] != t.action[j]) return t.action[i] < t.action[j];
          if (!t.rating.empty() && t.rating[i] != t.rating[j]) return t.rating[i] < t.rating[j];
          return x < y;
        });
        for (size_t k = 1; k < run.size(); ++k)
          if (same_event(t, run[k], run[k - 1])) {
            keep[size_t(run[k])] = 0;
            ++removed;
          }
      }
    }
    b = e;
  }
  if (removed) t.compact(keep);
  return {{"removed", removed}, {"key", "user, item, timestamp, action, rating"}, {"kept", "first in file order"}};
}

nlohmann::json apply_ratings(EventTable& t, const std::string& mode, double threshold) {
  if (!t.has_ratings()) return {{"skipped", "no rating column"}};
  nlohmann::json out = {{"mode", mode}};
  if (mode == "threshold") {
    std::vector<uint8_t> keep(size_t(t.size()));
    int64_t removed = 0;
    for (size_t r = 0; r < keep.size(); ++r) {
      keep[r] = t.rating[r] >= threshold;
      removed += !keep[r];
    }
    t.compact(keep);
    out["threshold"] = threshold;
    out["removed"] = removed;
  } else if (mode == "action") {
    SEQ_CHECK(!t.has_actions(), "ingest: clean.rating=action but the input also has an action column; "
                                "use clean.rating=ignore or threshold");
    t.action.resize(t.rating.size());
    int64_t clamped = 0;
    for (size_t r = 0; r < t.rating.size(); ++r) {
      double v = std::nearbyint(double(t.rating[r]));
      if (v < 1 || v > 5) ++clamped;
      t.action[r] = int8_t(kActionRatingBase + int(std::clamp(v, 1.0, 5.0)));
    }
    out["action"] = "10 + rating (rounded, clamped to 1..5)";
    out["clamped"] = clamped;
  } else {
    SEQ_CHECK(mode == "ignore", "ingest: unknown clean.rating '", mode, "' (ignore, threshold, action)");
  }
  t.rating.clear();
  t.rating.shrink_to_fit();
  return out;
}

nlohmann::json k_core(EventTable& t, int64_t min_user, int64_t min_item) {
  if (min_user <= 1 && min_item <= 1) return {{"skipped", "clean.min_user_events and min_item_events <= 1"}};
  std::vector<int64_t> user_count(size_t(t.users.size())), item_count(size_t(t.items.size()));
  std::vector<uint8_t> keep(size_t(t.size()), 1);
  int64_t iterations = 0, removed = 0;
  for (;;) {
    ++iterations;
    std::fill(user_count.begin(), user_count.end(), 0);
    std::fill(item_count.begin(), item_count.end(), 0);
    for (size_t r = 0; r < keep.size(); ++r)
      if (keep[r]) {
        ++user_count[size_t(t.user[r])];
        ++item_count[size_t(t.item[r])];
      }
    int64_t dropped = 0;
    for (size_t r = 0; r < keep.size(); ++r)
      if (keep[r] && (user_count[size_t(t.user[r])] < min_user || item_count[size_t(t.item[r])] < min_item)) {
        keep[r] = 0;
        ++dropped;
      }
    removed += dropped;
    if (dropped == 0) break;
  }
  t.compact(keep);
  return {{"min_user_events", min_user}, {"min_item_events", min_item}, {"iterations", iterations},
          {"removed", removed}};
}

nlohmann::json clip_lengths(EventTable& t, int64_t min_len, int64_t max_len) {
  std::vector<uint8_t> keep(size_t(t.size()), 1);
  int64_t users_dropped = 0, events_dropped_short = 0, users_truncated = 0, events_truncated = 0;
  for_each_user_run(t, [&](int64_t b, int64_t e) {
    int64_t len = e - b;
    if (len < min_len) {
      std::fill(keep.begin() + b, keep.begin() + e, 0);
      ++users_dropped;
      events_dropped_short += len;
    } else if (max_len > 0 && len > max_len) {
      std::fill(keep.begin() + b, keep.begin() + (e - max_len), 0);  // the oldest go
      ++users_truncated;
      events_truncated += len - max_len;
    }
  });
  t.compact(keep);
  return {{"min_seq_len", min_len}, {"max_seq_len", max_len}, {"users_dropped_short", users_dropped},
          {"events_dropped_short", events_dropped_short}, {"users_truncated", users_truncated},
          {"events_truncated", events_truncated}, {"truncation_keeps", "most recent events"}};
}

BuiltSequences build_sequences(const EventTable& t, const std::string& item_order) {
  SEQ_CHECK(item_order == "first_appearance" || item_order == "frequency", "ingest: unknown clean.item_order '",
            item_order, "' (first_appearance, frequency)");
  SEQ_CHECK(t.size() > 0, "ingest: no events left after cleaning; loosen the k-core or length limits");
  BuiltSequences out;
  // Item ids: dense index → model id 1..V.
  std::vector<int32_t> first_order;  // dense item indices in order of first appearance
  std::vector<int64_t> count(size_t(t.items.size()), 0);
  for (int32_t i : t.item)
    if (count[size_t(i)]++ == 0) first_order.push_back(i);
  if (item_order == "frequency")
    std::stable_sort(first_order.begin(), first_order.end(),
                     [&](int32_t a, int32_t b) { return count[size_t(a)] > count[size_t(b)]; });
  std::vector<int32_t> model_id(size_t(t.items.size()), 0);
  out.item_ids.reserve(first_order.size());
  out.item_counts.reserve(first_order.size());
  for (size_t k = 0; k < first_order.size(); ++k) {
    model_id[size_t(first_order[k])] = int32_t(k + 1);
    out.item_ids.push_back(t.items.name(first_order[k]));
    out.item_counts.push_back(count[size_t(first_order[k])]);
  }

  SequenceSet& s = out.sequences;
  const size_t n = size_t(t.size());
  s.item.resize(n);
  for (size_t r = 0; r < n; ++r) s.item[r] = model_id[size_t(t.item[r])];
  if (t.has_timestamps()) s.timestamp = t.timestamp;
  if (t.has_actions()) s.action = t.action;
  for_each_user_run(t, [&](int64_t b, int64_t e) {
    s.user.push_back(int64_t(out.user_ids.size()));
    out.user_ids.push_back(t.users.name(t.user[size_t(b)]));
    s.offsets.push_back(e);
  });
  return out;
}

}  // namespace seqmend
