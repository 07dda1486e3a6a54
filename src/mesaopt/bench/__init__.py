"""`mesaopt-bench`: training throughput, utilization against a measured matmul peak, population
speed-up and evaluation cost, printed as a table and written as JSON."""
