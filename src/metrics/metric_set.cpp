#include "ufm/metrics/metric_set.hpp"

#include <cmath>
#include <utility>

namespace ufm {
namespace {

void put_null(MetricSet& out, const std::string& name, std::string_view reason) {
  out[name] = nullptr;
  out[kNullReasons][name] = reason.empty() ? std::string("undefined") : std::string(reason);
}

void clear_reason(MetricSet& out, const std::string& name) {
  auto it = out.find(kNullReasons);
  if (it != out.end()) it->erase(name);
}

/// out[name] = value, and name's null reason dropped if it had one. Only a name already in out can
/// have one (put_null writes both), so a new name skips the search for null_reasons: an ordered
/// object's lookups are linear, and a checkpoint puts some sixty new names in a row.
template <class Value>
void put_value(MetricSet& out, const std::string& name, Value&& value) {
  const std::size_t before = out.is_object() ? out.size() : 0;
  MetricSet& slot = out[name];
  const bool is_new = out.size() != before;
  slot = std::forward<Value>(value);
  if (!is_new) clear_reason(out, name);
}

}  // namespace

void put_metric(MetricSet& out, const std::string& name, std::optional<double> value, std::string_view reason) {
  if (!value) return put_null(out, name, reason);
  if (!std::isfinite(*value)) return put_null(out, name, "non-finite value");
  put_value(out, name, *value);
}

void put_metric(MetricSet& out, const std::string& name, const std::vector<double>& values) {
  for (double v : values)
    if (!std::isfinite(v)) return put_null(out, name, "non-finite value");
  put_value(out, name, values);
}

std::optional<double> get_metric(const MetricSet& m, const std::string& name) {
  if (!m.is_object()) return std::nullopt;
  auto it = m.find(name);
  if (it == m.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

void move_null_reasons_last(MetricSet& out) {
  if (!out.is_object()) return;
  auto it = out.find(kNullReasons);
  if (it == out.end()) return;
  MetricSet reasons = std::move(*it);
  out.erase(kNullReasons);
  if (!reasons.empty()) out[kNullReasons] = std::move(reasons);
}

void take_null_reasons(MetricSet& out, MetricSet& reasons) {
  if (!out.contains("null_reasons")) return;
  reasons.update(out["null_reasons"]);
  out.erase("null_reasons");
}

}  // namespace ufm
