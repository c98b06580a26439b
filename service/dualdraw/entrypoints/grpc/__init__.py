"""gRPC adapters: proto in -> use case -> proto out. No business rules live here."""
