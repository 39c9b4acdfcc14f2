"""The controller role: watch each cluster, keep the mirror rows, hand reconciles to workers."""
