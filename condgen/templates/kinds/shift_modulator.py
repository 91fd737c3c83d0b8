class Shift(nn.Module):
    """A real modulator, as a conditioner would hand out: adds a learned function of the condition."""

    def __init__(self, condition_dim: int, features: int) -> None:
        super().__init__()
        self.project = nn.Linear(condition_dim, features)

    def forward(self, h: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return h + self.project(condition)
