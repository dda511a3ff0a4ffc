"""The zoo's probabilistic layers: correct where the stock `tfp.layers` are subtly wrong.

Each layer keeps only plain values (ints, floats, strings) in `get_config` and rebuilds its callables in
`__init__`, so a model file loads with `safe_mode=True` and never unpickles code. The stock layers differ:

- `tfpl.MultivariateNormalTriL` has no `get_config`: a model holding it saves but never loads.
- `tfpl.IndependentBernoulli` stores cloudpickled lambdas: loading needs `safe_mode=False`.
- `tfpl.KLDivergenceRegularizer` adds the KL twice; `tfpl.KLDivergenceAddLoss(use_exact_kl=True)` adds the
  batch *sum*, so the KL weight changes with the batch size and the number of replicas.

`KLDivergence` adds exactly `beta * mean_over_batch KL(q(z|x) || p(z))`, whatever the estimator (exact or
Monte-Carlo) and whatever the prior (standard normal or a learned mixture).

One module per concern: `base` (plain configs, the loss), `posteriors` (q(z|x)), `likelihoods` (p(x|z)),
`priors` (p(z)), `kl` (the KL term), `importance` (the IWAE bound), `corruption` (denoising), `mixture`
(the Bernoulli mixture), `conditioning` (labels). Every layer is importable from here.
"""

from zoo.layers.base import CONVERT_TO_TENSOR, PlainConfigDistribution, negative_log_likelihood
from zoo.layers.conditioning import OneHot
from zoo.layers.corruption import Corruption
from zoo.layers.importance import ImportanceSamples, ImportanceWeighted, ImportanceWeightedBound
from zoo.layers.kl import KLDivergence
from zoo.layers.likelihoods import (
    LIKELIHOODS,
    IndependentBernoulli,
    IndependentContinuousBernoulli,
    IndependentNormal,
)
from zoo.layers.mixture import BernoulliMixture
from zoo.layers.posteriors import POSTERIORS, MultivariateNormalDiag, MultivariateNormalTriL
from zoo.layers.priors import HasPrior, standard_normal

__all__ = [
    "CONVERT_TO_TENSOR",
    "LIKELIHOODS",
    "POSTERIORS",
    "BernoulliMixture",
    "Corruption",
    "HasPrior",
    "ImportanceSamples",
    "ImportanceWeighted",
    "ImportanceWeightedBound",
    "IndependentBernoulli",
    "IndependentContinuousBernoulli",
    "IndependentNormal",
    "KLDivergence",
    "MultivariateNormalDiag",
    "MultivariateNormalTriL",
    "OneHot",
    "PlainConfigDistribution",
    "negative_log_likelihood",
    "standard_normal",
]
