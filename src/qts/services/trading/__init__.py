"""Orders, positions, paper and live sessions, stored strategies, reconciliation."""
