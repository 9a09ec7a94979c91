// Parameters of the behaviour simulator (io/simulator.h). Defaults give a small e-commerce-like log
// (2,000 users, 3,000 items in 30 interest clusters, ~161k events) that trains in minutes on a CPU
// and has structure a sequence model can learn: within-cluster item-to-item transitions, sparse
// per-user interests that drift, sessions, and a view → click → cart → buy funnel.
#pragma once

#include <cstdint>
#include <string>

#include "io/config.h"

namespace seqmend {

struct SimulatorConfig {
  uint64_t seed = 1;
  int64_t num_users = 2000;
  int64_t num_items = 3000;
  int64_t num_clusters = 30;

  // Popularity: items within a cluster and clusters themselves follow Zipf laws (weight ∝ rank^-s).
  double zipf_exponent = 1.0;
  double cluster_zipf_exponent = 0.8;

  // Interests: each user draws 1 + Poisson(interests_per_user - 1) clusters (by cluster popularity)
  // with Dirichlet(interest_concentration) weights; small concentrations give a dominant interest.
  double interests_per_user = 3.0;
  int64_t max_interests = 8;
  double interest_concentration = 0.5;
  // Drift: at each session start the mixture moves drift_rate of the way towards a target mixture,
  // and with probability retarget_prob one target interest is swapped for a new cluster. The user's
  // taste therefore changes gradually — genuine behaviour, never labelled anomalous.
  double drift_rate = 0.15;
  double retarget_prob = 0.1;
  // Per step, the chance of switching to another of the user's interests inside a session.
  double interest_switch_prob = 0.1;

  // Item-to-item structure: each item has `successors` fixed follow-up items in its cluster (drawn
  // by popularity) with Zipf(1) weights; with markov_prob the next item follows that chain,
  // otherwise it is drawn from the current cluster's popularity.
  double markov_prob = 0.7;
  int64_t successors = 8;

  // Sequence length in events: log-normal with the given median and sigma, clipped to [min, max];
  // "uniform" draws uniformly in [min, max].
  std::string length_distribution = "lognormal";
  int64_t length_min = 10;
  int64_t length_max = 300;
  double length_median = 60.0;
  double length_sigma = 0.8;

  // Time: users start uniformly within start_span_days of start_time. Sessions hold a geometric
  // number of item steps (mean session_mean_items); gaps between sessions are log-normal around
  // session_gap_median_hours, gaps between items in a session log-normal around item_gap_median_s;
  // funnel follow-ups (click, cart, buy on the same item) come funnel_gap_median_s later.
  bool timestamps = true;
  int64_t start_time = 1577836800;  // 2020-01-01
  double start_span_days = 30.0;
  double session_mean_items = 6.0;
  double session_gap_median_hours = 20.0;
  double session_gap_sigma = 1.2;
  double item_gap_median_s = 40.0;
  double item_gap_sigma = 1.0;
  double funnel_gap_median_s = 8.0;

  // Funnel: a viewed item is clicked with click_prob, a clicked item carted with cart_prob, a carted
  // item bought with buy_prob. "separate" logs every stage as its own event (like Taobao logs);
  // "deepest" logs one event per item carrying the deepest stage reached.
  bool actions = true;
  std::string funnel_events = "separate";
  double click_prob = 0.25;
  double cart_prob = 0.2;
  double buy_prob = 0.5;

  void visit(ConfigVisitor& v) {
    v.field("seed", seed, "random seed: the whole data set is a function of it");
    v.field("num_users", num_users, "users (one sequence each)", 1, int64_t(1) << 31);
    v.field("num_items", num_items, "item vocabulary size V (ids 1..V)", 2, int64_t(1) << 30);
    v.field("num_clusters", num_clusters, "interest clusters the items are split into", 1, int64_t(1) << 20);
    v.field("zipf_exponent", zipf_exponent, "Zipf exponent of item popularity inside a cluster", 0.0, 5.0);
    v.field("cluster_zipf_exponent", cluster_zipf_exponent, "Zipf exponent of cluster popularity", 0.0, 5.0);
    v.field("interests_per_user", interests_per_user, "mean number of interest clusters per user", 1.0, 1000.0);
    v.field("max_interests", max_interests, "cap on interests per user", 1, 1000);
    v.field("interest_concentration", interest_concentration, "Dirichlet concentration of interest weights",
            1e-3, 1e3);
    v.field("drift_rate", drift_rate, "per session, fraction the interest mixture moves to its target", 0.0, 1.0);
    v.field("retarget_prob", retarget_prob, "per session, chance one target interest is replaced", 0.0, 1.0);
    v.field("interest_switch_prob", interest_switch_prob, "per item step, chance of switching interest", 0.0,
            1.0);
    v.field("markov_prob", markov_prob, "chance the next item follows the item-to-item chain", 0.0, 1.0);
    v.field("successors", successors, "follow-up items per item in the chain", 1, 1000);
    v.choice("length_distribution", length_distribution, {"lognormal", "uniform"}, "sequence length law");
    v.field("length_min", length_min, "shortest sequence (events)", 1, int64_t(1) << 30);
    v.field("length_max", length_max, "longest sequence (events)", 1, int64_t(1) << 30);
    v.field("length_median", length_median, "median length for the log-normal law", 1.0, 1e9);
    v.field("length_sigma", length_sigma, "sigma of the log-normal length law", 0.0, 10.0);
    v.field("timestamps", timestamps, "emit a timestamp column");
    v.field("start_time", start_time, "earliest user start (Unix seconds)", 0, int64_t(1) << 40);
    v.field("start_span_days", start_span_days, "user start times spread over this many days", 0.0, 1e5);
    v.field("session_mean_items", session_mean_items, "mean item steps per session", 1.0, 1e6);
    v.field("session_gap_median_hours", session_gap_median_hours, "median gap between sessions (hours)", 0.0,
            1e5);
    v.field("session_gap_sigma", session_gap_sigma, "log-normal sigma of session gaps", 0.0, 10.0);
    v.field("item_gap_median_s", item_gap_median_s, "median gap between items in a session (s)", 0.0, 1e6);
    v.field("item_gap_sigma", item_gap_sigma, "log-normal sigma of in-session gaps", 0.0, 10.0);
    v.field("funnel_gap_median_s", funnel_gap_median_s, "median gap to a funnel follow-up event (s)", 0.0, 1e6);
    v.field("actions", actions, "emit an action column");
    v.choice("funnel_events", funnel_events, {"separate", "deepest"},
             "log each funnel stage as an event, or one event per item with its deepest stage");
    v.field("click_prob", click_prob, "P(click | view)", 0.0, 1.0);
    v.field("cart_prob", cart_prob, "P(cart | click)", 0.0, 1.0);
    v.field("buy_prob", buy_prob, "P(buy | cart)", 0.0, 1.0);
  }
};

}  // namespace seqmend
