"""The benchmark harness (`make bench`); not collected by pytest."""
