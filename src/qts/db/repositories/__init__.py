"""Repositories: the only place that builds queries. Each takes a Session it does not own."""
