"""Pin the BLAS thread pools to --threads before numpy or torch loads (afterwards it is too late:
torch.set_num_threads does not reach OpenBLAS's own pool). Shared by torch_ufm.py and flow_ivp.py,
which call it at the top, before their numpy / torch imports."""
import os


def pin_blas_threads(argv):
    """OPENBLAS/OMP/MKL_NUM_THREADS = the value of --threads in argv (default 1), unless already set."""
    n = "1"
    for i, x in enumerate(argv):
        if x == "--threads" and i + 1 < len(argv):
            n = argv[i + 1]
        elif x.startswith("--threads="):
            n = x.split("=", 1)[1]
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, n)
