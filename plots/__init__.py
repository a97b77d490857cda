"""Plotting scripts for ufm-sim outputs (see plots/README.md); ufm_io is the shared reader."""
