"""Reference data of the health package: one module per source, each citing it, each overridable."""
