"""The zoo's probabilistic layers: correct where the stock `tfp.layers` are subtly wrong.

Each layer keeps only plain values (ints, floats, strings) in `get_config` and rebuilds its callables in
`__init__`, so a model file loads with `safe_mode=True` and never unpickles code. The stock layers differ:

- `tfpl.MultivariateNormalTriL` has no `get_config`: a model holding it saves but never loads.
- `tfpl.IndependentBernoulli` stores cloudpickled lambdas: loading needs `safe_mode=False`.
- `tfpl.KLDivergenceRegularizer` adds the KL twice; `tfpl.KLDivergenceAddLoss(use_exact_kl=True)` adds the
  batch *sum*, so the KL weight changes with the batch size and the number of replicas.

`KLDivergence` adds exactly `beta * mean_over_batch KL(q(z|x) || p(z))`, whatever the estimator (exact or
Monte-Carlo) and whatever the prior (standard normal, a learned mixture or flow).

One module per concern: `base` (plain configs, the loss), `posteriors` (q(z|x)), `likelihoods` (p(x|z)),
`priors` (p(z)), `flows` (autoregressive flows: the IAF posterior, the flow prior), `kl` (the KL term),
`importance` (the IWAE bound), `hierarchy` (two stochastic layers in one code), `corruption` (denoising),
`mixture` (the Bernoulli mixture), `conditioning` (labels), `vamp` (the VampPrior and its KL), `quantizer`
(the VQ-VAE's codebook and its PixelCNN prior), `residual` (the conv nets' residual block). Every layer
is importable from here.
"""

from zoo.layers.base import CONVERT_TO_TENSOR, PlainConfigDistribution, negative_log_likelihood
from zoo.layers.conditioning import OneHot
from zoo.layers.corruption import Corruption
from zoo.layers.flows import FlowPosterior, InverseAutoregressiveFlow
from zoo.layers.hierarchy import (
    BottomLevel,
    HierarchicalImportanceWeighted,
    HierarchicalKL,
    HierarchicalPosterior,
    TwoLevel,
    level_sizes,
)
from zoo.layers.importance import ImportanceSamples, ImportanceWeighted, ImportanceWeightedBound
from zoo.layers.kl import KLDivergence
from zoo.layers.likelihoods import (
    LIKELIHOODS,
    IndependentBernoulli,
    IndependentContinuousBernoulli,
    IndependentNormal,
)
from zoo.layers.mixture import BernoulliMixture
from zoo.layers.posteriors import (
    POSTERIORS,
    CommittedRateNormal,
    MultivariateNormalDiag,
    MultivariateNormalTriL,
)
from zoo.layers.priors import HasPrior, standard_normal
from zoo.layers.quantizer import CodeGridPrior, MaskedConv2D, VectorQuantizer
from zoo.layers.residual import ResidualBlock
from zoo.layers.vamp import VampKLDivergence

__all__ = [
    "CONVERT_TO_TENSOR",
    "LIKELIHOODS",
    "POSTERIORS",
    "BernoulliMixture",
    "BottomLevel",
    "CodeGridPrior",
    "CommittedRateNormal",
    "Corruption",
    "FlowPosterior",
    "HasPrior",
    "HierarchicalImportanceWeighted",
    "HierarchicalKL",
    "HierarchicalPosterior",
    "ImportanceSamples",
    "ImportanceWeighted",
    "ImportanceWeightedBound",
    "IndependentBernoulli",
    "IndependentContinuousBernoulli",
    "IndependentNormal",
    "InverseAutoregressiveFlow",
    "KLDivergence",
    "MaskedConv2D",
    "MultivariateNormalDiag",
    "MultivariateNormalTriL",
    "OneHot",
    "PlainConfigDistribution",
    "ResidualBlock",
    "TwoLevel",
    "VampKLDivergence",
    "VectorQuantizer",
    "level_sizes",
    "negative_log_likelihood",
    "standard_normal",
]
