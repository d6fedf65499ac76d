-- Second database on the same server: MLflow's backend store (runs, metrics, registry).
CREATE DATABASE mlflow;
