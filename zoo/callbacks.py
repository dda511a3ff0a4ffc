"""Keras callbacks for zoo models."""

from __future__ import annotations

from zoo import layers as zl
from zoo._tf import keras
from zoo.model import layers_of_type


class KLAnnealing(keras.callbacks.Callback):
    """Schedules the KL weight beta of every `KLDivergence` layer, step by step, to fight posterior collapse.

    - "linear" warm-up (Bowman et al. 2016): beta = beta_max * min(1, step / warmup_steps).
    - "cyclical" (Fu et al. 2019): the step's position in a cycle of `cycle_steps`, tau in [0, 1), gives
      beta = beta_max * min(1, tau / ratio): a linear ramp over the first `ratio` of each cycle, then flat.

    The step is the optimizer's iteration count, so a resumed run continues the schedule where it stopped.
    beta_max defaults to the beta the model was built with. The current beta is logged as `beta`.

    >>> model.fit(x, x, epochs=10, callbacks=[zoo.callbacks.KLAnnealing(warmup_steps=2000)])
    """

    SCHEDULES = ("linear", "cyclical")

    def __init__(
        self,
        schedule: str = "linear",
        warmup_steps: int = 1000,
        cycle_steps: int = 1000,
        ratio: float = 0.5,
        beta_max: float | None = None,
    ):
        super().__init__()
        if schedule not in self.SCHEDULES:
            raise ValueError(f"schedule must be one of {self.SCHEDULES}; got {schedule!r}.")
        if warmup_steps < 1 or cycle_steps < 1:
            raise ValueError(f"warmup_steps and cycle_steps must be >= 1; got {warmup_steps}, {cycle_steps}.")
        if not 0 < ratio <= 1:
            raise ValueError(f"ratio must be in (0, 1]; got {ratio}.")
        if beta_max is not None and beta_max < 0:
            raise ValueError(f"beta_max must be >= 0; got {beta_max}.")
        self.schedule, self.warmup_steps, self.cycle_steps = schedule, warmup_steps, cycle_steps
        self.ratio, self.beta_max = ratio, beta_max

    def beta_at(self, step: int, beta_max: float) -> float:
        """The scheduled beta at optimizer step `step` (0 for the first step)."""
        if self.schedule == "linear":
            return beta_max * min(1.0, step / self.warmup_steps)
        tau = (step % self.cycle_steps) / self.cycle_steps
        return beta_max * min(1.0, tau / self.ratio)

    def on_train_begin(self, logs=None):
        self._kl_layers = layers_of_type(self.model, zl.KLDivergence)
        if not self._kl_layers:
            raise ValueError("KLAnnealing needs a model with a KL term (a VAE); this model has none.")

    def on_train_batch_begin(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        for layer in self._kl_layers:
            top = layer.initial_beta if self.beta_max is None else self.beta_max
            layer.beta.assign(self.beta_at(step, top))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["beta"] = float(self._kl_layers[0].beta.numpy())
