"""Pure price logic: per-source health scores and the consensus best price (no I/O).

Inputs are stored observations (app.store.prices rows, or anything with the same
attributes) and breaker states; the price API and tests call :func:`assess`.
"""

from app.prices.consensus import BestPrice, PricePolicy, PriceView, SourceHealth, assess

__all__ = ["BestPrice", "PricePolicy", "PriceView", "SourceHealth", "assess"]
