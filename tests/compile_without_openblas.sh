#!/bin/bash
# compile_without_openblas.sh CXX SOURCE_DIR GENERATED_DIR EIGEN_INCLUDE_DIR
# The build with Eigen's own products (cmake -DUFM_OPENBLAS=, README "Dependencies") stays compilable:
# every header under include/ufm, and every source that branches on UFM_USE_OPENBLAS, parsed in one
# translation unit without that definition (-fsyntax-only, about 10 s). Session 55 put finite_norm,
# which every build uses, inside linalg.hpp's #ifdef UFM_USE_OPENBLAS, and nothing noticed.
set -euo pipefail
cxx=$1 source_dir=$2 generated=$3 eigen=$4
unit=$(mktemp --suffix=.cpp)
trap 'rm -f "$unit"' EXIT
cd "$source_dir"
for f in $(grep -rl UFM_USE_OPENBLAS src | sort); do echo "#include \"$source_dir/$f\""; done > "$unit"
find include/ufm -name '*.hpp' | sort | sed 's|^include/\(.*\)|#include "\1"|' >> "$unit"
grep -q 'linalg.hpp' "$unit" || { echo "no headers found under $source_dir/include/ufm" >&2; exit 1; }
"$cxx" -std=c++20 -fsyntax-only -fopenmp -march=native -U UFM_USE_OPENBLAS -U EIGEN_USE_BLAS \
  -I include -I "$generated" -I "$eigen" "$unit"
echo "$(grep -c '#include' "$unit") files parse without UFM_USE_OPENBLAS"
