#include "ufm/linalg.hpp"

#include <string>

#ifdef UFM_USE_OPENBLAS
extern "C" {
void openblas_set_num_threads(int num_threads);
char* openblas_get_config(void);
}
#endif

namespace ufm {

#ifdef UFM_USE_OPENBLAS
bool detail::pin_openblas_to_one_thread() {
  openblas_set_num_threads(1);
  return true;
}

const char* blas_backend() {
  static const std::string name = std::string(openblas_get_config()) + " (1 thread)";
  return name.c_str();
}
#else
const char* blas_backend() { return "Eigen"; }
#endif

}  // namespace ufm
