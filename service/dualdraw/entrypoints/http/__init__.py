"""HTTP/JSON beside gRPC: the Connect protocol in front of the process's own gRPC server, and its OpenAPI
document (``gateway.py``, ``connect.py``, ``openapi.py``)."""
