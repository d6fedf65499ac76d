"""Market data: storage, providers, sample data, live collection."""
