"""Analysis of finished result tables (thresholds, bootstrap): beside the plots, not probes."""
