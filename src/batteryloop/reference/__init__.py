"""Reference data from the outside world, one module per source, each citing its source and date."""
