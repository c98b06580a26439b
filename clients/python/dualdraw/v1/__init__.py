"""Generated protobuf/gRPC modules of the ``dualdraw.v1`` API (``clients/python/generate_stubs.py``)."""
