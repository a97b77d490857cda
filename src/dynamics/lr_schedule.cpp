#include "ufm/dynamics/lr_schedule.hpp"

#include <cmath>
#include <numbers>
#include <sstream>

#include "ufm/config/config_error.hpp"
#include "ufm/config/number_parse.hpp"

namespace ufm {

double LrSchedule::at(double lr0, long step, long total_steps, long epoch) const {
  switch (kind) {
    case Kind::kConstant: return lr0;
    case Kind::kStep: {
      double lr = lr0;
      for (long m : milestones)
        if (epoch >= m) lr *= gamma;
      return lr;
    }
    case Kind::kCosine:
      if (total_steps <= 0) return lr0;
      return lr0 * 0.5 *
             (1.0 + std::cos(std::numbers::pi * static_cast<double>(step) / static_cast<double>(total_steps)));
  }
  return lr0;
}

std::string LrSchedule::to_string() const {
  if (kind == Kind::kConstant) return "constant";
  if (kind == Kind::kCosine) return "cosine";
  std::string s = "step:";
  for (std::size_t i = 0; i < milestones.size(); ++i) s += (i ? "," : "") + std::to_string(milestones[i]);
  return s + ":" + format_number(gamma);
}

LrSchedule parse_lr_schedule(const std::string& option, const std::string& text) {
  const std::string allowed = "constant | cosine | step:E1,E2,...:gamma (increasing epochs >= 1, gamma in (0, 1])";
  LrSchedule s;
  if (text == "constant") return s;
  if (text == "cosine") {
    s.kind = LrSchedule::Kind::kCosine;
    return s;
  }
  const std::size_t first = text.find(':'), last = text.rfind(':');
  if (text.rfind("step:", 0) != 0 || first == last) throw ConfigError(option, text, allowed);
  s.kind = LrSchedule::Kind::kStep;
  std::stringstream in(text.substr(first + 1, last - first - 1));
  for (std::string item; std::getline(in, item, ',');) {
    long e = 0;
    try {
      e = static_cast<long>(parse_integer_in(option, item, 1, 1000000000));
    } catch (const ConfigError&) {
      throw ConfigError(option, text, allowed);
    }
    if (!s.milestones.empty() && e <= s.milestones.back()) throw ConfigError(option, text, allowed);
    s.milestones.push_back(e);
  }
  if (s.milestones.empty()) throw ConfigError(option, text, allowed);
  try {
    s.gamma = parse_real(option, text.substr(last + 1), allowed);
  } catch (const ConfigError&) {
    throw ConfigError(option, text, allowed);
  }
  if (!(s.gamma > 0 && s.gamma <= 1)) throw ConfigError(option, text, allowed);
  return s;
}

}  // namespace ufm
