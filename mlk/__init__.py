"""mlk: Azure ML's Kubernetes online endpoints, without Azure."""

__version__ = "0.1.0"
