"""PyTorch networks of the model zoo. Inputs are windows (batch, lookback, features); outputs
are (batch,) for regression or (batch, 3) logits for SELL/HOLD/BUY.

This module imports torch at module level: import it only where torch is wanted.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class PositionalEncoding(nn.Module):
    """Fixed sine/cosine positions (Vaswani et al.) added to the embedded sequence."""

    def __init__(self, d_model: int, max_len: int = 2048) -> None:
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1)
        div = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div)
        pe[:, 1::2] = torch.cos(position * div)[:, : d_model // 2]
        self.register_buffer("pe", pe.unsqueeze(0), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pe: torch.Tensor = self.pe  # type: ignore[assignment]
        return x + pe[:, : x.size(1)].to(x.dtype)


def _head(n_in: int, n_out: int) -> nn.Module:
    return nn.Linear(n_in, n_out)


def _squeeze(out: torch.Tensor, n_out: int) -> torch.Tensor:
    return out.squeeze(-1) if n_out == 1 else out


class LSTMNet(nn.Module):
    def __init__(
        self, n_features: int, n_out: int, hidden_size: int, num_layers: int, dropout: float
    ) -> None:
        super().__init__()
        self.n_out = n_out
        self.lstm = nn.LSTM(
            n_features, hidden_size, num_layers=num_layers, batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )  # fmt: skip
        self.drop = nn.Dropout(dropout)
        self.head = _head(hidden_size, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return _squeeze(self.head(self.drop(out[:, -1])), self.n_out)


class TransformerNet(nn.Module):
    """Encoder-only transformer; the last time step's state feeds the head (causal reading)."""

    def __init__(
        self, n_features: int, n_out: int, d_model: int, n_heads: int, num_layers: int,
        dim_feedforward: int, dropout: float,
    ) -> None:  # fmt: skip
        super().__init__()
        self.n_out = n_out
        self.embed = nn.Linear(n_features, d_model)
        self.positions = PositionalEncoding(d_model)
        layer = nn.TransformerEncoderLayer(
            d_model, n_heads, dim_feedforward, dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.head = _head(d_model, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = x.size(1)
        # Causal mask: step t attends to steps <= t only.
        mask = torch.triu(torch.ones(steps, steps, dtype=torch.bool, device=x.device), 1)
        h = self.encoder(self.positions(self.embed(x)), mask=mask)
        return _squeeze(self.head(h[:, -1]), self.n_out)


class CausalConvBlock(nn.Module):
    """Two dilated causal convolutions with a residual connection (Bai et al., 2018)."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, dilation: int, dropout: float):
        super().__init__()
        self.pad = (kernel_size - 1) * dilation
        self.conv1 = nn.Conv1d(c_in, c_out, kernel_size, dilation=dilation)
        self.conv2 = nn.Conv1d(c_out, c_out, kernel_size, dilation=dilation)
        self.drop = nn.Dropout(dropout)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Left padding only: output t sees inputs <= t.
        h = self.drop(F.relu(self.conv1(F.pad(x, (self.pad, 0)))))
        h = self.drop(F.relu(self.conv2(F.pad(h, (self.pad, 0)))))
        return F.relu(h + self.skip(x))


class TCNNet(nn.Module):
    def __init__(
        self, n_features: int, n_out: int, channels: int, levels: int, kernel_size: int,
        dropout: float,
    ) -> None:  # fmt: skip
        super().__init__()
        self.n_out = n_out
        blocks = [
            CausalConvBlock(
                n_features if i == 0 else channels, channels, kernel_size, 2**i, dropout
            )
            for i in range(levels)
        ]
        self.blocks = nn.Sequential(*blocks)
        self.head = _head(channels, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(x.transpose(1, 2))  # (batch, channels, steps)
        return _squeeze(self.head(h[:, :, -1]), self.n_out)


class NBeatsBlock(nn.Module):
    def __init__(self, n_in: int, n_out: int, width: int, layers: int) -> None:
        super().__init__()
        stack: list[nn.Module] = []
        for i in range(layers):
            stack += [nn.Linear(n_in if i == 0 else width, width), nn.ReLU()]
        self.fc = nn.Sequential(*stack)
        self.backcast = nn.Linear(width, n_in)
        self.forecast = nn.Linear(width, n_out)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.fc(x)
        return self.backcast(h), self.forecast(h)


class NBeatsNet(nn.Module):
    """Generic N-BEATS (Oreshkin et al., 2019) on the flattened window: each block removes what
    it explains from its input (backcast) and adds its part of the forecast."""

    def __init__(
        self, n_features: int, n_out: int, lookback: int, width: int, n_blocks: int,
        layers_per_block: int, dropout: float,
    ) -> None:  # fmt: skip
        super().__init__()
        self.n_out = n_out
        n_in = n_features * lookback
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            NBeatsBlock(n_in, n_out, width, layers_per_block) for _ in range(n_blocks)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.drop(x.flatten(1))
        forecast = torch.zeros(x.size(0), self.n_out, device=x.device, dtype=x.dtype)
        for block in self.blocks:
            back, fore = block(residual)
            residual = residual - back
            forecast = forecast + fore
        return _squeeze(forecast, self.n_out)


class CNNClassifierNet(nn.Module):
    """1-D convolutions over time, global average pooling, a linear head."""

    def __init__(
        self, n_features: int, n_out: int, channels: int, kernel_size: int, n_layers: int,
        dropout: float,
    ) -> None:  # fmt: skip
        super().__init__()
        self.n_out = n_out
        layers: list[nn.Module] = []
        for i in range(n_layers):
            c_in = n_features if i == 0 else channels
            layers += [
                nn.Conv1d(c_in, channels, kernel_size, padding=kernel_size // 2),
                nn.BatchNorm1d(channels),
                nn.ReLU(),
                nn.Dropout(dropout),
            ]
        self.convs = nn.Sequential(*layers)
        self.head = _head(channels, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.convs(x.transpose(1, 2)).mean(dim=2)
        return _squeeze(self.head(h), self.n_out)


class AttentionClassifierNet(nn.Module):
    """Self-attention over the window, then attention pooling (a learned query scores each
    step) into one vector for the head."""

    def __init__(
        self, n_features: int, n_out: int, d_model: int, n_heads: int, dropout: float
    ) -> None:
        super().__init__()
        self.n_out = n_out
        self.embed = nn.Linear(n_features, d_model)
        self.positions = PositionalEncoding(d_model)
        self.attention = nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
        self.norm = nn.LayerNorm(d_model)
        self.score = nn.Linear(d_model, 1)
        self.drop = nn.Dropout(dropout)
        self.head = _head(d_model, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.positions(self.embed(x))
        attended, _ = self.attention(h, h, h, need_weights=False)
        h = self.norm(h + self.drop(attended))
        weights = torch.softmax(self.score(h).squeeze(-1), dim=1)
        pooled = (weights.unsqueeze(-1) * h).sum(dim=1)
        return _squeeze(self.head(self.drop(pooled)), self.n_out)
