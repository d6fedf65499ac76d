"""Losses: MSE and cross-entropy, an IC (correlation) loss for return prediction and focal loss
for imbalanced classes. Imports torch: use inside functions that train."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from qts.core.errors import ValidationError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def ic_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Negative Pearson correlation of predictions and targets over the batch (-1 is perfect).

    Ranking matters for a long/short signal, the scale of the forecast does not; this loss
    rewards exactly that.
    """
    p = pred.float().flatten() - pred.float().mean()
    t = target.float().flatten() - target.float().mean()
    return -(p * t).sum() / (p.norm() * t.norm() + eps)


def mse_ic_loss(pred: torch.Tensor, target: torch.Tensor, weight: float = 0.5) -> torch.Tensor:
    """MSE on standardised targets plus `weight` x the IC loss: keeps a scale, ranks well."""
    return F.mse_loss(pred.float(), target.float()) + weight * ic_loss(pred, target)


def focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    gamma: float = 2.0,
    alpha: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean of -alpha_t * (1 - p_t)^gamma * log(p_t) (Lin et al., 2017).

    `target` holds class indices; `alpha` optional per-class weights. gamma=0 without alpha is
    cross-entropy.
    """
    log_p = F.log_softmax(logits.float(), dim=-1)
    log_pt = log_p.gather(1, target.long().unsqueeze(1)).squeeze(1)
    pt = log_pt.exp()
    loss = -((1.0 - pt) ** gamma) * log_pt
    if alpha is not None:
        loss = loss * alpha.to(loss.device)[target.long()]
    return loss.mean()


def get_loss(name: str, gamma: float = 2.0, class_weights: torch.Tensor | None = None) -> LossFn:
    """Loss by name: mse, huber, ic, mse_ic (regression); ce, focal (classification)."""
    if name == "mse":
        return lambda p, t: F.mse_loss(p.float(), t.float())
    if name == "huber":
        return lambda p, t: F.huber_loss(p.float(), t.float())
    if name == "ic":
        return ic_loss
    if name == "mse_ic":
        return mse_ic_loss
    if name == "ce":
        return lambda p, t: F.cross_entropy(p.float(), t.long(), weight=class_weights)
    if name == "focal":
        return lambda p, t: focal_loss(p, t, gamma, class_weights)
    raise ValidationError(
        f"unknown loss {name!r}", {"known": ["mse", "huber", "ic", "mse_ic", "ce", "focal"]}
    )
