"""`ZooModel`: the Keras model every zoo builder returns, the two ways to assemble one, and how it is compiled.

A ZooModel is a functional `keras.Model` joining an `encoder` and a `decoder` sub-model. It is a plain
Keras model in every respect (`fit`, `save`, `keras.models.load_model`), plus:

- it knows its registry name and hyperparameters (`model.zoo_name`, `model.hparams`), saved in its config;
- `fit`/`evaluate`/`predict` check array inputs first and raise a `ValueError` that names the problem and
  the fix, instead of training on NaNs or grey levels or failing deep inside TensorFlow;
- they feed arrays to long calls through `zoo.feeding`, which spares them tf.data's end-of-call stall (seconds);
- compiled with `steps_per_execution="auto"` (the zoo's default), `fit` runs 8 steps per execution in long
  calls and 1 in short ones (`zoo.execution`), so the default `fit` keeps up with a hand-written loop;
- `compile`/`fit`/`evaluate`/`predict` convert Keras 3 (`tf.keras`) callbacks, optimizers, losses and metrics
  to their tf_keras twins, with one warning, and refuse other Keras 3 objects with the fix (`zoo.keras3`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from zoo import blocks, data, execution, feeding, keras3
from zoo import layers as zl
from zoo._tf import keras

COMPILE_OBJECTS = ("optimizer", "loss", "metrics", "weighted_metrics")
"""The `compile` arguments that may hold Keras 3 objects to convert."""


class _Stash:
    """A plain holder for the train function of the kind not in use: not a Keras-tracked attribute, so it
    never becomes part of the model's checkpoint or SavedModel."""

    train_function = None


@keras.utils.register_keras_serializable("zoo")
class ZooModel(keras.Model):
    """A functional model with `encoder` and `decoder` sub-models, built by `zoo.get`."""

    zoo_name: str = "custom"
    hparams: dict = {}
    auto_steps_per_execution: bool = False
    """True when compiled with `steps_per_execution="auto"`: each `fit` call chooses (`zoo.execution`)."""

    @property
    def has_latent_code(self) -> bool:
        """True if the model maps images to codes z and back (False for the Bernoulli mixture)."""
        return "encoder" in {layer.name for layer in self.layers}

    def _part(self, name: str) -> keras.Model:
        if not self.has_latent_code:
            raise ValueError(
                f"{self.zoo_name} has no {name}: it models p(x) directly, with no latent code, so encode, decode "
                "and reconstruct do not apply. Use sample and evaluate."
            )
        return self.get_layer(name)

    @property
    def encoder(self) -> keras.Model:
        """x (and labels, if conditional) -> q(z|x), or a deterministic code for the plain autoencoder."""
        return self._part("encoder")

    @property
    def decoder(self) -> keras.Model:
        """z (and labels, if conditional) -> p(x|z)."""
        return self._part("decoder")

    @property
    def is_conditional(self) -> bool:
        """True if the model takes [images, labels]."""
        return len(self.inputs) == 2

    @property
    def num_classes(self) -> int | None:
        """Number of label classes of a conditional model (None otherwise)."""
        one_hots = layers_of_type(self, zl.OneHot)
        return one_hots[0].num_classes if one_hots else None

    @property
    def has_prior(self) -> bool:
        """True if the model holds a prior p(z) (a `zoo.layers.HasPrior` layer), learned or fixed: it has an
        ELBO and can sample codes. False for the plain autoencoder and the Bernoulli mixture."""
        return bool(layers_of_type(self, zl.HasPrior))

    @property
    def has_point_mass_posterior(self) -> bool:
        """True if q(z|x) puts all its mass on one code (the VQ-VAE's `zl.VectorQuantizer`): one draw of it is
        every draw, so its importance-weighted bound is its ELBO for any number of samples."""
        return bool(layers_of_type(self, zl.VectorQuantizer))

    @property
    def is_generative(self) -> bool:
        """True if `zoo.sample` can draw new images: a prior over its codes, or no code at all (the model is
        p(x) itself, as the Bernoulli mixture). False for the plain autoencoder."""
        return self.has_prior or not self.has_latent_code

    def inputs_for(self, x: Any, labels: Any = None) -> Any:
        """What this model's `fit`/`evaluate`/`predict` take as inputs: `x`, or `[x, labels]` for a conditional
        model. Labels given to an unconditional model are ignored, so one call serves every model:

        >>> model.fit(model.inputs_for(x, labels), x, epochs=5)
        """
        if not self.is_conditional:
            return x
        if labels is None:
            raise ValueError(f"{self.zoo_name} is conditional: pass labels=<integer class ids [N]>.")
        return [x, labels]

    def labels_or_none(self, labels: Any) -> Any:
        """`labels` for a conditional model, None for an unconditional one (which refuses labels)."""
        return labels if self.is_conditional else None

    @property
    def has_bernoulli_likelihood(self) -> bool:
        """True if pixels are modelled as Bernoulli variables, so data must be binary."""
        return bool(layers_of_type(self, (zl.IndependentBernoulli, zl.BernoulliMixture)))

    @property
    def has_unit_interval_likelihood(self) -> bool:
        """True if p(x|z) lives on [0, 1] (Bernoulli or continuous-Bernoulli pixels), so data must lie in
        [0, 1]; binary as well if `has_bernoulli_likelihood`. False for Gaussian pixels (any real values)."""
        return self.has_bernoulli_likelihood or bool(layers_of_type(self, zl.IndependentContinuousBernoulli))

    def compile(self, *args, **kwargs):
        """Keras' `compile`; `steps_per_execution="auto"` is the zoo's: 8 steps per execution in `fit` calls
        of many batches without batch-level callbacks, 1 otherwise (`zoo.execution`), not Keras' tuner."""
        arguments = feeding.bind(super().compile, args, kwargs)
        keras3.convert("model.compile", arguments, COMPILE_OBJECTS)
        self.auto_steps_per_execution = arguments["steps_per_execution"] == execution.AUTO
        if self.auto_steps_per_execution:
            arguments["steps_per_execution"] = 1
        self._stash, self._train_function_steps = _Stash(), 1
        super().compile(**arguments)
        if self.auto_steps_per_execution:  # saved as "auto", so a loaded model chooses per call again
            self._compile_config.config["steps_per_execution"] = execution.AUTO

    def compile_from_config(self, config: dict) -> None:
        # tf_keras leaves a loaded model uncompiled if its class overrides compile(), as this one does (to
        # convert Keras 3 objects); these are tf_keras' own steps, so a saved model loads compiled as before
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built and isinstance(self.optimizer, keras.optimizers.Optimizer):
            self.optimizer.build(self.trainable_variables)

    def fit(self, *args, **kwargs):
        arguments = feeding.bind(super().fit, args, kwargs)
        converted = keras3.convert("model.fit", arguments, ("callbacks",))
        data.check_model_inputs(self, arguments["x"], arguments["y"])
        if self.auto_steps_per_execution:
            self._run_steps_per_execution(execution.steps_for_call(arguments))
        try:
            return super().fit(**feeding.fit_arguments(arguments))
        finally:
            converted.write_back()
            if self.auto_steps_per_execution:
                self._steps_per_execution.assign(1)

    def _run_steps_per_execution(self, steps: int) -> None:
        """Set the steps per execution of the coming `fit` call. Keras traces a one-step and a K-step train
        function differently and keeps one; the zoo keeps the other kind aside, so alternating short and
        long calls trace each kind once."""
        if (steps > 1) != (self._train_function_steps > 1):
            self.train_function, self._stash.train_function = self._stash.train_function, self.train_function
        self._train_function_steps = steps
        self._steps_per_execution.assign(steps)

    @contextlib.contextmanager
    def _one_step_per_execution(self) -> Iterator[None]:
        """One step per execution inside, whatever the coming or running `fit` set (auto mode only):
        `evaluate` and `predict` trace and run one-step functions, and `train_on_batch` steps once, also
        when called during a long `fit` (its validation, a callback)."""
        if not self.auto_steps_per_execution:
            yield
            return
        previous = int(self._steps_per_execution.numpy())
        self._steps_per_execution.assign(1)
        try:
            yield
        finally:
            self._steps_per_execution.assign(previous)

    def evaluate(self, *args, **kwargs):
        arguments = feeding.bind(super().evaluate, args, kwargs)
        converted = keras3.convert("model.evaluate", arguments, ("callbacks",))
        data.check_model_inputs(self, arguments["x"], arguments["y"])
        try:
            with self._one_step_per_execution():
                return super().evaluate(**feeding.evaluate_arguments(arguments))
        finally:
            converted.write_back()

    def predict(self, *args, **kwargs):
        arguments = feeding.bind(super().predict, args, kwargs)
        converted = keras3.convert("model.predict", arguments, ("callbacks",))
        data.check_model_inputs(self, arguments["x"], None)
        try:
            with self._one_step_per_execution():
                return super().predict(**feeding.predict_arguments(arguments))
        finally:
            converted.write_back()

    def train_on_batch(self, *args, **kwargs):
        with self._one_step_per_execution():
            return super().train_on_batch(*args, **kwargs)

    def make_train_function(self, force: bool = False):
        """Keras' train function, with the optimizer's slot variables (Adam's moments) created first.

        Keras lets the optimizer create them inside the first trace of the train step, and a `tf.function`
        that creates variables is traced twice; created beforehand, the step is traced once, which about
        halves the first `fit`'s set-up (`python benchmarks/throughput.py --parts calls`, "fit first s")."""
        optimizer = self.optimizer
        if (self.train_function is None or force) and isinstance(optimizer, keras.optimizers.Optimizer):
            with self.distribute_strategy.scope():
                optimizer.build(self.trainable_variables)  # a no-op once built (a loaded or trained model)
        return super().make_train_function(force)

    def get_config(self) -> dict:
        return {**super().get_config(), "zoo_name": self.zoo_name, "hparams": self.hparams}

    @classmethod
    def from_config(cls, config: dict, custom_objects=None) -> ZooModel:
        config = dict(config)
        zoo_name = config.pop("zoo_name", cls.zoo_name)
        hparams = config.pop("hparams", {})
        model = super().from_config(config, custom_objects)
        from zoo import registry  # the registry builds ZooModels: imported here, not at the top

        model.zoo_name, model.hparams = zoo_name, registry.completed(zoo_name, hparams)
        return model


def layers_of_type(model: keras.Model, layer_type: type | tuple[type, ...]) -> list[keras.layers.Layer]:
    """All layers of `layer_type` inside `model`, searching nested models."""
    found = []
    for layer in model.layers:
        if isinstance(layer, layer_type):
            found.append(layer)
        if isinstance(layer, keras.Model):
            found.extend(layers_of_type(layer, layer_type))
    return found


def kl_layers(model: keras.Model, who: str) -> list[zl.KLDivergence]:
    """The model's KL layers, for `who` (a callback) that acts on them; a ValueError if it has none."""
    found = layers_of_type(model, zl.KLDivergence)
    if not found:
        raise ValueError(
            f"{who} needs a model with a KL term (a VAE); {getattr(model, 'zoo_name', 'this model')} has none "
            "(the importance-weighted models, the VQ-VAE, the autoencoder and the mixture have no KL weight)."
        )
    return found


def compile_model(
    model: ZooModel, learning_rate: float, jit_compile: bool = False, steps_per_execution: int | str = "auto"
) -> ZooModel:
    """Compile with Adam on the negative log-likelihood; the KL term arrives through `model.losses`.

    These three are the training hyperparameters every model takes (`zoo.registry.TRAINING`): `zoo.get`
    builds the network with the builder, then compiles it here. `jit_compile=True` compiles the train, test
    and predict steps with XLA: an MLP model's step then runs ~1.3x faster on CPU, but each `fit` pays a few
    seconds of compilation first. `steps_per_execution=K` runs K steps per call from Keras' Python loop,
    which removes its per-step cost; batch-level callbacks (the progress bar, users' own) then run every K
    steps. `KLAnnealing` stays exact at every step: it computes beta inside the step (benchmarks/README.md).
    The default, "auto", runs 8 steps per call in `fit` calls of at least 100 batches whose callbacks act
    per epoch only, and 1 otherwise (`zoo.execution`).
    """
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=zl.negative_log_likelihood,
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    return model


def assemble(
    input_shape: Sequence[int],
    latent_dim: int,
    encoder_layers: Sequence[keras.layers.Layer],
    decoder_layers: Sequence[keras.layers.Layer],
    importance_weighted: zl.ImportanceWeighted | None = None,
) -> ZooModel:
    """Join `encoder_layers` ([N, *input_shape] -> q(z|x)) and `decoder_layers` ([N, latent_dim] -> p(x|z))
    as two Sequentials, "encoder" and "decoder", into one ZooModel: [N, *input_shape] -> p(x|z).

    With `importance_weighted`, the model draws its k samples of z per example, decodes all k * N of them
    and outputs that layer's importance-weighted bound instead (the IWAE).
    """
    keras3.refuse_any([encoder_layers, decoder_layers], "zoo.model.assemble got ")
    encoder = keras.Sequential([keras.Input(input_shape), *encoder_layers], name="encoder")
    decoder = keras.Sequential([keras.Input((latent_dim,)), *decoder_layers], name="decoder")
    image = keras.Input(input_shape, name="image")
    posterior = encoder(image)
    if importance_weighted is None:
        return ZooModel(image, decoder(posterior))
    z = zl.ImportanceSamples(importance_weighted.samples)(posterior)
    return ZooModel(image, importance_weighted([posterior, z, decoder(z)]))


def assemble_conditional(
    input_shape: Sequence[int],
    latent_dim: int,
    num_classes: int,
    feature_layers: Sequence[keras.layers.Layer],
    encoder_layers: Sequence[keras.layers.Layer],
    decoder_layers: Sequence[keras.layers.Layer],
    label_every_layer: bool = False,
) -> ZooModel:
    """A conditional model: inputs [image [N, *input_shape], label [N] int], output p(x|z, label).

    Encoder: image -> `feature_layers` -> concat(features, one_hot(label)) -> `encoder_layers` -> q(z|x, y).
    Decoder: concat(z, one_hot(label)) -> `decoder_layers` -> p(x|z, y); with `label_every_layer`, the
    one-hot also joins the input of every Dense and convolution of `decoder_layers`
    (`blocks.label_at_every_layer`), so the decoder cannot learn to read the digit from z alone. Both are
    functional sub-models taking [tensor, label], so `model.encoder([x, y])` and `model.decoder([z, y])`
    work on their own.
    """
    keras3.refuse_any([feature_layers, encoder_layers, decoder_layers], "zoo.model.assemble_conditional got ")
    image, label = keras.Input(input_shape, name="image"), keras.Input((1,), dtype="int32", name="label")
    features = keras.Sequential([keras.Input(input_shape), *feature_layers], name="features")(image)
    joined = keras.layers.Concatenate()([features, zl.OneHot(num_classes)(label)])
    posterior = keras.Sequential(encoder_layers, name="encoder_head")(joined)
    encoder = keras.Model([image, label], posterior, name="encoder")

    z, z_label = keras.Input((latent_dim,), name="z"), keras.Input((1,), dtype="int32", name="label")
    if label_every_layer:
        likelihood = blocks.label_at_every_layer(decoder_layers, z, zl.OneHot(num_classes)(z_label))
    else:
        joined = keras.layers.Concatenate()([z, zl.OneHot(num_classes)(z_label)])
        likelihood = keras.Sequential(decoder_layers, name="decoder_head")(joined)
    decoder = keras.Model([z, z_label], likelihood, name="decoder")

    image, label = keras.Input(input_shape, name="image"), keras.Input((1,), dtype="int32", name="label")
    return ZooModel([image, label], decoder([encoder([image, label]), label]))


keras3.stand_ins_for_keras3_load()  # every zoo class is registered by now: Keras 3's load_model says zoo.load
