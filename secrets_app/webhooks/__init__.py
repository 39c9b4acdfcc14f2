"""Admission webhooks for the custom resources: mutation (key encoding) and validation.

`reviews` parses AdmissionReview requests and builds responses; `mutating` and `validating`
decide, as pure functions of the review (validation is given its cluster and ECR lookups);
`lookups` is the real cluster and ECR behind validation; `views` is the thin DRF face;
`registration` describes the webhook configurations for the API server.
"""
