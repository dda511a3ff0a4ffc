"""Autoregressive flows (zoo/layers/flows.py): the IAF posterior's density includes the flow's log-determinant,
the flow prior is a normalized density whose samples invert its density pass, neither claims a closed-form
KL, and the models holding them train their flows, save, load and sample. (Building, fitting, evaluating
iaf_vae like every model: the registry-parametrized tests.)"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small_hparams

import zoo
from zoo import layers as zl
from zoo._tf import tf, tfd
from zoo.layers import flows
from zoo.model import layers_of_type

LATENT, CONTEXT = 3, 2


@pytest.fixture
def iaf_layer() -> zl.InverseAutoregressiveFlow:
    """An IAF posterior of 2 steps with a context, fed by a Dense layer of fixed random weights."""
    layer = zl.InverseAutoregressiveFlow(
        LATENT, steps=2, hidden_units=(16,), base="full", context_size=CONTEXT
    )
    layer.build((None, zl.InverseAutoregressiveFlow.params_size(LATENT, "full", CONTEXT)))
    return layer


def test_iaf_log_prob_is_the_base_density_minus_the_log_determinant(iaf_layer):
    """log q(z) at the flow's own samples (TFP's bijector cache: no inversion), and at a copy of them (the
    flow inverted, LATENT passes per step), against base log-density minus log|det dz/dz0| with the
    Jacobian taken by automatic differentiation of the flow's forward pass."""
    params = tf.random.stateless_normal([4, iaf_layer.params_size(LATENT, "full", CONTEXT)], seed=[1, 2])
    posterior = iaf_layer(params)
    assert isinstance(posterior.tensor_distribution, zl.FlowPosterior) and posterior.event_shape == [LATENT]
    z0 = posterior.distribution.sample(5, seed=[3, 4])  # [5, 4, LATENT], the base draws behind z
    z = posterior.sample(5, seed=[3, 4])
    with tf.GradientTape() as tape:
        tape.watch(z0)
        forward = posterior.bijector.forward(tf.identity(z0))
    jacobian = tf.reshape(tape.jacobian(forward, z0), [20, LATENT, 20, LATENT])
    per_draw = tf.stack(
        [jacobian[i, :, i, :] for i in range(20)]
    )  # dz/dz0 of each draw: [20, LATENT, LATENT]
    log_det = tf.reshape(tf.linalg.slogdet(per_draw)[1], [5, 4])
    expected = posterior.distribution.log_prob(z0) - log_det
    np.testing.assert_allclose(z, forward, atol=1e-6)
    np.testing.assert_allclose(posterior.log_prob(z), expected, atol=1e-4)
    np.testing.assert_allclose(posterior.log_prob(tf.identity(z)), expected, atol=1e-3)
    assert np.abs(log_det).min() > 1e-2  # the flow is no identity: a missing log-determinant would show
    far = tf.fill([4, LATENT], 1e3)  # inverting the flow there overflows (NaN in TFP): density 0 in float32
    np.testing.assert_array_equal(posterior.log_prob(far), -np.inf)


def test_iaf_step_is_autoregressive_and_its_gate_starts_near_identity(iaf_layer):
    """One step: dz_i/dz0_j = 0 for j > i (a triangular Jacobian), with diagonal sigma in (0, 1)."""
    context = tf.random.stateless_normal([1, CONTEXT], seed=[5, 6])
    step = flows.inverse_autoregressive_flow(iaf_layer.networks[:1], context)
    z0 = tf.random.stateless_normal([1, LATENT], seed=[7, 8])
    with tf.GradientTape() as tape:
        tape.watch(z0)
        z = step.forward(z0)
    jacobian = tape.batch_jacobian(z, z0)[0].numpy()
    np.testing.assert_array_equal(np.triu(jacobian, 1), 0)
    assert np.all((np.diag(jacobian) > 0) & (np.diag(jacobian) < 1))


def _flow_prior_layer(latent_dim: int = 2) -> zl.KLDivergence:
    layer = zl.KLDivergence(prior="flow", flow_steps=2, flow_hidden_units=(16,))
    layer.build((None, latent_dim))
    for network in layer.prior_networks:  # larger weights than the initial ones: a prior far from N(0, I)
        network.set_weights([2 * w for w in network.get_weights()])
    return layer


def test_flow_prior_is_a_normalized_density_whose_samples_invert_it():
    prior = _flow_prior_layer().prior()
    grid = np.linspace(-9, 9, 601, dtype=np.float32)
    points = np.stack(np.meshgrid(grid, grid), axis=-1).reshape(-1, 2)
    density = np.exp(prior.log_prob(points).numpy()).reshape(601, 601)
    assert np.trapezoid(np.trapezoid(density, grid), grid) == pytest.approx(1.0, abs=2e-3)
    normal = tfd.MultivariateNormalDiag(tf.zeros(2))
    assert np.abs(prior.log_prob(points) - normal.log_prob(points)).max() > 0.5  # no standard normal
    z = prior.sample(64, seed=[1, 2])  # the flow's forward pass, 2 network passes per step
    np.testing.assert_allclose(prior.log_prob(tf.identity(z)), prior.log_prob(z), atol=1e-4)
    np.testing.assert_allclose(
        prior.bijector.inverse(tf.identity(z)), prior.distribution.sample(64, seed=[1, 2]), atol=1e-4
    )


def test_no_closed_form_kl_is_claimed_for_a_flow():
    with pytest.raises(ValueError, match="no closed-form KL to a flow prior: use estimator='mc'"):
        zl.KLDivergence(estimator="exact", prior="flow")
    q = tfd.MultivariateNormalTriL(tf.zeros([4, 2]), tf.eye(2, batch_shape=[4]))
    layer = _flow_prior_layer()
    tf.random.set_seed(3)
    auto = layer.kl_per_example(q)  # falls back to log q(z) - log p(z) at one z ~ q
    tf.random.set_seed(3)
    z = q.sample(1)
    np.testing.assert_allclose(auto, (q.log_prob(z) - layer.prior().log_prob(z))[0], rtol=1e-5)
    exact = zl.KLDivergence(estimator="exact")
    exact.build((None, 2))
    with pytest.raises(ValueError, match="no closed-form KL from FlowPosterior to MultivariateNormalDiag"):
        exact.kl_per_example(
            zl.FlowPosterior(q, flows.inverse_autoregressive_flow(_flow_prior_layer().prior_networks))
        )


def _networks(model: zoo.ZooModel) -> list[flows.MADE]:
    """Every MADE of the IAF posterior and the flow prior."""
    networks = [n for layer in layers_of_type(model, zl.InverseAutoregressiveFlow) for n in layer.networks]
    return networks + layers_of_type(model, zl.KLDivergence)[0].prior_networks


def _dependencies(network: flows.MADE) -> np.ndarray:
    """[D, D]: entry [i, j] > 0 where the network's outputs for coordinate i move with input u_j."""
    u = tf.random.stateless_normal([1, network.event_shape[-1]], seed=[9, 9])
    context_size = network._conditional_size if network._conditional else 0
    context = {"conditional_input": tf.ones([1, context_size])} if context_size else {}
    with tf.GradientTape() as tape:
        tape.watch(u)
        params = network(u, **context)[0]  # [D, 2]
    return np.abs(tape.jacobian(params, u)[:, :, 0, :].numpy()).sum(axis=1)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["dense_vae", "iaf_vae"])
def test_flows_train_save_load_and_sample(name, digits, tmp_path):
    """With prior="flow" (and iaf_vae's IAF posterior): the loss falls, every flow weight moves, and the
    loaded model has the same prior density, posterior means and samples. (dense_vae's flow prior has the
    default two steps, the order of z reversed between them; iaf_vae is small, one step each.)"""
    x = digits[0]
    model = zoo.get(name, **small_hparams(name), prior="flow")
    before = [w.copy() for network in _networks(model) for w in network.get_weights()]
    history = model.fit(x, x, epochs=2, batch_size=32, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0] - 20, losses
    after = [w for network in _networks(model) for w in network.get_weights()]
    assert all(np.abs(a - b).max() > 1e-3 for a, b in zip(after, before, strict=True))
    for network in _networks(model):  # still autoregressive: fit applied the masks after every step
        dependencies = _dependencies(network)
        assert np.all(np.triu(dependencies) == 0) and np.tril(dependencies, -1).sum() > 0
    model.save(tmp_path / "model.keras")
    again = zoo.load(tmp_path / "model.keras")
    z = np.linspace(-2, 2, 10, dtype=np.float32).reshape(5, 2)
    np.testing.assert_allclose(
        zoo.inference.prior(again).log_prob(z), zoo.inference.prior(model).log_prob(z), atol=1e-5
    )
    np.testing.assert_allclose(zoo.encode(again, x[:5]).mean(), zoo.encode(model, x[:5]).mean(), atol=1e-5)
    images = zoo.sample(again, 6, seed=0)
    assert images.shape == (6, 28, 28, 1)
    np.testing.assert_allclose(images, zoo.sample(model, 6, seed=0), atol=1e-5)
