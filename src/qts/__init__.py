"""qts: a quant trading system with AI/ML, from market data to guarded live trading."""

__version__ = "0.1.0"
