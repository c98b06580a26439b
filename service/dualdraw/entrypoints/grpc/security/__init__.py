"""Authentication (signed bearer tokens, TLS) and authorization (roles and jurisdiction)."""
