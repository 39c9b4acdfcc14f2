"""Which AWS identity, and its ECR token: the credentials of a spec, the token cache shared
between processes, and the manual refresh of an identity."""
