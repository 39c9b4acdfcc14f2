"""The names of the two groups the data migration 0003_roles creates (see it for their permissions)."""

VIEWERS = "ecrcontrol viewers"
OPERATORS = "ecrcontrol operators"
