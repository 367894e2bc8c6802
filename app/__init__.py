"""Tokenpulse: multi-chain ERC-20 transfer analytics served from the store."""

__version__ = "0.1.0"
