"""mlk's only door to Kubernetes: `Cluster` (apply, get, list, watch, delete, logs) and error translation."""
