"""Authentication (signed bearer tokens, TLS) and authorization (roles and jurisdiction) (issue 6)."""
