"""Plain domain model and pure logic: knows nothing of gRPC or SQL."""
