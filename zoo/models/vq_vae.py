"""The VQ-VAE (van den Oord, Vinyals & Kavukcuoglu 2017, "Neural Discrete Representation Learning"): a
discrete code, a grid of indices into a learned codebook, with a learned autoregressive prior over the grid.

`conv_vae`'s stride-2 convolutions make an (H/2^k, W/2^k) map of `code_dim` features, k = len(filters); each
position is replaced by its nearest of `codebook_size` codebook vectors, compared by direction
(`zoo.layers.VectorQuantizer`: l2-normalized lookup, straight-through gradients, the codebook and commitment
losses), and the transposed convolutions decode the quantized map. Unlike the paper, which fits its PixelCNN
prior after the autoencoder, `fit` trains the prior (a small PixelCNN of masked convolutions over the index
grid) together with it, on the codes of the batch held fixed, so that the trained model samples with
`zoo.sample` at once.

What its numbers mean: q(z|x) is a point mass, so the rate is -log p(indices) (nats to describe the code
under the prior), and the ELBO log p(x|z_q) + log p(z_q) bounds log p(x) of the discrete model from below,
with no tightening by importance sampling (every draw of q is the same code): its "nll_iwae" equals its
"neg_elbo", a looser bound than a continuous VAE's IWAE, and not comparable with them as a measure of the
model. Its `mutual_information` in `zoo.evaluate` is the entropy of the codes within each batch (at most
log batch_size: 4.6 nats for 100).
"""

from zoo import blocks
from zoo import layers as zl
from zoo._tf import keras
from zoo.model import ZooModel, assemble
from zoo.registry import register


@register
def vq_vae(
    input_shape=(28, 28, 1), filters=(32, 64), code_dim=16, codebook_size=64, commitment=0.25,
    prior_filters=64, prior_layers=3, likelihood="bernoulli", likelihood_scale=None,
) -> ZooModel:  # fmt: skip
    """VQ-VAE: a codebook-quantized code grid with a PixelCNN prior (van den Oord et al. 2017)"""
    grid = blocks.grid_shape(input_shape, filters)
    encoder = [
        *blocks.conv_features(input_shape, filters),
        keras.layers.Conv2D(code_dim, 1),
        zl.VectorQuantizer(codebook_size, commitment, prior_filters, prior_layers, name="quantizer"),
    ]
    decoder = [
        keras.layers.Reshape((*grid, code_dim)),
        *blocks.upsampling_likelihood(input_shape, filters[::-1], likelihood, likelihood_scale),
    ]
    return assemble(input_shape, grid[0] * grid[1] * code_dim, encoder, decoder)
