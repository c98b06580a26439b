"""Use cases: orchestrate the domain, the rules engine and the store in one unit of work each."""
