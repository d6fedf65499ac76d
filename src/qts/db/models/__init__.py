"""All tables. Importing this package registers every model on `Base.metadata`."""

from qts.db.models.audit import AuditLog
from qts.db.models.backtests import BacktestRun
from qts.db.models.corporate_actions import AccountAction, CorporateActionRow
from qts.db.models.dashboard import AccountSnapshot, OptimizationRun
from qts.db.models.features import FeatureValue
from qts.db.models.jobs import JobRun, SystemStatus
from qts.db.models.market import Bar, Fundamental, NewsItem, Symbol
from qts.db.models.ml import (
    FeatureDefinition,
    MLModel,
    ModelMonitoring,
    Prediction,
    TrainingLog,
    TrainingRun,
)
from qts.db.models.trading import Fill, Order, OrderEvent, Position, Strategy
from qts.db.models.users import RefreshTokenFamily, User

__all__ = [
    "AccountAction",
    "AccountSnapshot",
    "AuditLog",
    "BacktestRun",
    "Bar",
    "CorporateActionRow",
    "FeatureDefinition",
    "FeatureValue",
    "Fill",
    "Fundamental",
    "JobRun",
    "MLModel",
    "ModelMonitoring",
    "NewsItem",
    "OptimizationRun",
    "Order",
    "OrderEvent",
    "Position",
    "Prediction",
    "RefreshTokenFamily",
    "Strategy",
    "Symbol",
    "SystemStatus",
    "TrainingLog",
    "TrainingRun",
    "User",
]
