"""The weekly digest: building it, sending it, its tasks and its pages."""
