#pragma once
/// The metrics of one checkpoint as an insertion-ordered JSON object, with null + reason for
/// undefined values (theory.md §4: never NaN).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ufm/linalg.hpp"

namespace ufm {

using MetricSet = nlohmann::ordered_json;  ///< an object; keeps insertion order

/// Key under which the reasons for null metrics are collected: out["null_reasons"][name] = reason.
inline constexpr const char* kNullReasons = "null_reasons";

/// Stores value under name; a nullopt or non-finite value becomes JSON null and
/// out["null_reasons"][name] = reason (for non-finite: "non-finite value"; empty reason: "undefined").
/// Storing a value clears a stale reason of the same name.
void put_metric(MetricSet& out, const std::string& name, std::optional<double> value, std::string_view reason = "");
/// Arrays (spectra). Any non-finite entry makes the whole array null with reason "non-finite value".
void put_metric(MetricSet& out, const std::string& name, const std::vector<double>& values);
/// The number stored under name; nullopt if null, missing or not a number.
std::optional<double> get_metric(const MetricSet& m, const std::string& name);
/// Moves out["null_reasons"] (if any) behind every metric, so that metrics keep the documented order.
void move_null_reasons_last(MetricSet& out);

struct MetricOptions {
  Index max_singular_values = 100;  ///< how many singular values to report; 0 = all
  /// false skips the spectra (singular_values, explained_variance, effective_rank, stable_rank are then
  /// absent), and with them the d×d Gram product and eigensolve that dominate the cost.
  bool spectra = true;
};

/// Moves out's "null_reasons" into `reasons`, so that one object collects those of several sets.
void take_null_reasons(MetricSet& out, MetricSet& reasons);

}  // namespace ufm
