"""Shared pieces of the response models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

# Metric values as stored: a float, or None where it was undefined (NaN, too few samples).
MetricValue = float | None


class OpenModel(BaseModel):
    """A body whose known fields are declared and typed; fields added later by the services
    still pass through (extra="allow") so a new field never breaks an older client."""

    model_config = ConfigDict(extra="allow")
