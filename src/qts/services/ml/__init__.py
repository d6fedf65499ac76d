"""Training runs, the model catalogue, features and the ML jobs."""
