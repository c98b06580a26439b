"""dualdraw: rule-checked, verifiable random inspection draws ("double random, one public")."""

__version__ = "0.1.0"
