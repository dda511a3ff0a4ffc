"""The VAE with two stochastic layers of Burda, Grosse & Salakhutdinov 2015 ("Importance Weighted
Autoencoders", sec. 5, the two-layer architecture; not the ladder VAE of Sønderby et al. 2016, whose
posterior is corrected top-down): x -> h -> z1 -> h -> z2 for q, and p(z2) p(z1|z2) p(x|z1) for the model.

The code is one vector z = [z1, z2] of `latent_dim` entries, z2 the last `top_latent_dim` of them: encode
returns q(z1, z2 | x) = q(z1|x) q(z2|z1), `zoo.sample` draws z2 ~ N(0, I), z1 ~ p(z1|z2) and decodes z1,
and `zoo.evaluate`'s importance-weighted bound weighs both layers, log mean p(x|z1) p(z1|z2) p(z2) /
(q(z1|x) q(z2|z1)). With `importance_samples=1` (the default) the loss is the negative ELBO with a
Monte-Carlo KL (`zl.HierarchicalKL`: beta, KL annealing); with k > 1 it is minus the k-sample bound over
both layers (`zl.HierarchicalImportanceWeighted`), Burda et al.'s two-layer IWAE. Either way each level's
KL is reported as the metrics `kl_z1` and `kl_z2`: a `kl_z2` near 0 is the top layer collapsing.
"""

from zoo import blocks
from zoo import layers as zl
from zoo._tf import keras
from zoo.model import ZooModel, assemble
from zoo.registry import register


@register
def hvae(
    input_shape=(28, 28, 1), latent_dim=24, top_latent_dim=None, hidden_units=(512, 256),
    top_hidden_units=(128,), beta=1.0, importance_samples=1, likelihood="bernoulli", likelihood_scale=None,
) -> ZooModel:  # fmt: skip
    """VAE with two stochastic layers, z1 then z2 (Burda et al. 2015)"""
    bottom, top = zl.level_sizes(latent_dim, top_latent_dim)
    encoder = [
        keras.layers.Flatten(),
        *blocks.dense_stack(hidden_units),
        keras.layers.Dense(zl.HierarchicalPosterior.params_size(bottom)),
        zl.HierarchicalPosterior(bottom, top, top_hidden_units, name="posterior"),
    ]
    decoder = [
        zl.BottomLevel(bottom),
        *blocks.dense_stack(hidden_units[::-1]),
        *blocks.dense_likelihood(input_shape, likelihood, likelihood_scale),
    ]
    if importance_samples == 1:
        kl = zl.HierarchicalKL(top, top_hidden_units, beta, name="kl_divergence")
        return assemble(input_shape, latent_dim, [*encoder, kl], decoder)
    if beta != 1.0:
        raise ValueError(
            f"hvae with importance_samples={importance_samples} trains on the importance-weighted bound, which "
            f"has no KL term to weigh: leave beta at 1.0 (got {beta}), or use importance_samples=1 (the ELBO)."
        )
    bound = zl.HierarchicalImportanceWeighted(importance_samples, top, top_hidden_units)
    return assemble(input_shape, latent_dim, encoder, decoder, bound)
