#include "ufm/data/source.hpp"

#include "ufm/data/cifar.hpp"
#include "ufm/data/csv.hpp"
#include "ufm/data/data_error.hpp"
#include "ufm/data/idx.hpp"
#include "ufm/data/synthetic.hpp"

namespace ufm::data {
namespace {

constexpr const char* kForms = "expected fashion-mnist, idx:DIR, cifar10:DIR, csv:FILE or synthetic";

/// True, with `rest` = the text after "prefix:", when spec starts with "prefix:" (and rest is not empty).
bool strip(const std::string& spec, const std::string& prefix, std::string& rest) {
  if (!spec.starts_with(prefix + ":")) return false;
  rest = spec.substr(prefix.size() + 1);
  if (rest.empty()) throw DataError(spec, "", "no path after '" + prefix + ":' (" + kForms + ")");
  return true;
}

}  // namespace

DataSplit load_data(const std::string& spec, const DataSourceOptions& options) {
  std::string path;
  if (spec == "fashion-mnist") return load_fashion_mnist();
  if (spec == "synthetic") {
    const auto& s = options.synthetic;
    return make_gaussian_mixture(s.classes, s.per_class, s.input_dim, s.separation, s.seed, s.test_per_class);
  }
  if (strip(spec, "idx", path)) return load_idx_dir(path);
  if (strip(spec, "cifar10", path)) return load_cifar10_dir(path);
  if (strip(spec, "csv", path)) return load_csv(path, options.label_column);
  throw DataError(spec, "", std::string("unknown data source (") + kForms + ")");
}

}  // namespace ufm::data
