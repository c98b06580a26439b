"""The draw: entropy, seed, ticket-ordered selection, strata, teams, commitments and substitution.

``versions.algorithm_for(version)`` is the one entry point that decides what a draw of a given algorithm
version computes; the server and the offline verifier both go through it.
"""
