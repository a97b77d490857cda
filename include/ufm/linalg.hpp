#pragma once
/// Eigen aliases used across ufm-sim (double precision, column-major).
#include <Eigen/Dense>

namespace ufm {
using Index = Eigen::Index;
using Vec = Eigen::VectorXd;
using Mat = Eigen::MatrixXd;
using VecMap = Eigen::Map<Vec>;
using ConstVecMap = Eigen::Map<const Vec>;
using MatMap = Eigen::Map<Mat>;
using ConstMatMap = Eigen::Map<const Mat>;
}  // namespace ufm
