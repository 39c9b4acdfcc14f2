"""The REST API under /api/v1/: thin DRF views over the same services as the dashboard.

Reads come from the mirror rows; writes go through services.writer to the cluster. Modules:
serializers (the representation), filters (query parameters), etags (If-Match), errors (writer
and refresh answers as HTTP), access (authentication, permissions, throttling), views, urls, and
schema (what the OpenAPI document says beyond what the code shows).
"""
