/// Interoperability with NumPy itself: skipped when /usr/bin/python3 or numpy is missing.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_io_util.hpp"
#include "ufm/io/npy.hpp"

namespace ufm::io {
namespace {

using test::TempDir;

#define SKIP_WITHOUT_NUMPY() \
  if (!test::python_has_numpy()) GTEST_SKIP() << "/usr/bin/python3 with numpy not available"

TEST(NpyNumpy, NumpyLoadsOurFiles) {
  SKIP_WITHOUT_NUMPY();
  TempDir tmp;
  Mat M(3, 4);
  for (Index i = 0; i < 3; ++i)
    for (Index j = 0; j < 4; ++j) M(i, j) = 10.0 * i + j + 0.5;
  write_npy(tmp / "M.npy", M);
  write_npy(tmp / "v.npy", Vec(Vec::LinSpaced(5, -1.0, 1.0)));
  const std::vector<int> y{2, 0, 1, 1};
  write_npy(tmp / "y.npy", std::span<const int>(y));
  const std::string dir = tmp.path().string();
  const std::string script =
      "import numpy as np; d='" + dir + "'; "
      "a=np.load(d+'/M.npy', allow_pickle=False); "
      "assert a.shape==(3, 4) and a.dtype==np.float64, (a.shape, a.dtype); "
      "assert (a==np.add.outer(10.0*np.arange(3), np.arange(4))+0.5).all(), a; "
      "v=np.load(d+'/v.npy', allow_pickle=False); "
      "assert v.shape==(5,) and np.allclose(v, np.linspace(-1, 1, 5), rtol=0, atol=1e-15), v; "
      "y=np.load(d+'/y.npy', allow_pickle=False); "
      "assert y.dtype==np.int64 and y.tolist()==[2, 0, 1, 1], y";
  EXPECT_EQ(test::run_python(script), 0) << "numpy rejected or misread our files (see stderr)";
}

TEST(NpyNumpy, WeLoadNumpyFiles) {
  SKIP_WITHOUT_NUMPY();
  TempDir tmp;
  const std::string dir = tmp.path().string();
  const std::string script =
      "import numpy as np; d='" + dir + "'; "
      "a=np.arange(12, dtype=np.float64).reshape(3, 4)*1.5; "
      "np.save(d+'/c.npy', a); "
      "np.save(d+'/f.npy', np.asfortranarray(a)); "
      "np.save(d+'/f4.npy', a.astype(np.float32)); "
      "np.save(d+'/y32.npy', np.array([1, 0, 2], dtype=np.int32)); "
      "np.save(d+'/y64.npy', np.array([[2], [2], [0]])); "
      "np.save(d+'/v.npy', np.array([0.25, -4.0]))";
  ASSERT_EQ(test::run_python(script), 0);
  Mat expected(3, 4);
  for (Index i = 0; i < 3; ++i)
    for (Index j = 0; j < 4; ++j) expected(i, j) = 1.5 * static_cast<double>(4 * i + j);
  EXPECT_FALSE(read_npy(tmp / "c.npy").fortran_order);
  EXPECT_TRUE(read_npy(tmp / "f.npy").fortran_order);
  EXPECT_EQ(read_npy_matrix(tmp / "c.npy", 3, 4), expected);
  EXPECT_EQ(read_npy_matrix(tmp / "f.npy", 3, 4), expected);
  EXPECT_EQ(read_npy_matrix(tmp / "f4.npy", 3, 4), expected);  // multiples of 1.5 below 17 are exact in float
  EXPECT_EQ(read_npy_labels(tmp / "y32.npy", 3, 3), (std::vector<int>{1, 0, 2}));
  EXPECT_EQ(read_npy_labels(tmp / "y64.npy", 3, 3), (std::vector<int>{2, 2, 0}));
  EXPECT_EQ(read_npy_vector(tmp / "v.npy", 2), Vec((Vec(2) << 0.25, -4.0).finished()));
}

TEST(NpyNumpy, NumpyReadsOurFileAfterWeReadTheirs) {
  SKIP_WITHOUT_NUMPY();
  // A full loop: numpy writes C order, we read, transform, write Fortran order, numpy checks.
  TempDir tmp;
  const std::string dir = tmp.path().string();
  ASSERT_EQ(test::run_python("import numpy as np; np.random.seed(3); np.save('" + dir +
                             "/in.npy', np.random.randn(4, 6))"),
            0);
  const Mat in = read_npy_matrix(tmp / "in.npy", 4, 6);
  write_npy(tmp / "out.npy", Mat(2.0 * in.transpose()));
  EXPECT_EQ(test::run_python("import numpy as np; d='" + dir +
                             "'; a=np.load(d+'/in.npy'); b=np.load(d+'/out.npy'); "
                             "assert b.shape==(6, 4) and (b==2*a.T).all(), (a, b)"),
            0);
}

}  // namespace
}  // namespace ufm::io
