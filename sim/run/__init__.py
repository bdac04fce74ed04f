"""Running: replications x trains over a pool or Dask, metrics from records, and the results
folders (the only code that reads or writes results/)."""
