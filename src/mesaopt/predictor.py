"""The signatures every learner and reference shares, so metrics and plots treat them alike."""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp


class InnerLoop(NamedTuple):
    """An explicit inner loop (MAML family, learned optimizers, the sgd and adam references):
    optimization of weights on a support set. A state is (weights, optimizer state)."""
    start: Callable    # (params, x_UxD, y_U) -> state: the initialization
    step: Callable     # (params, state, x_UxD, y_U) -> (state, the support-loss gradient it used)
    predict: Callable  # (params, weights, x_QxD) -> (Q,) predictions of the adapted weights
    params_after: Callable  # (params, weights) -> the learner's params with the adapted weights


class Predictor(NamedTuple):
    """Supervised: a whole episode in, a prediction per position out."""
    init: Callable[[Any], Any]              # key (learners) or references.Context -> params
    apply: Callable[[Any, Any], jax.Array]  # (params, one episode) -> predictions y_hat_K
    # Learners: (params, episode) -> (L+1, K, F) residual stream at the token each prediction is
    # read from, after the embedding (0) and after each of the L layers (the layer probes).
    features: Callable[[Any, Any], jax.Array] | None = None
    inner: InnerLoop | None = None  # predictors with an explicit inner loop

    def trace(self, params, x_UxD, y_U, x_QxD, steps: int):
        """The inner loop run for `steps` steps on the support set: ((steps + 1, Q) predictions
        on the queries after 0 .. steps steps, (steps,) cosines between each step's weight update
        and the negative support-loss gradient it was taken at)."""
        def step(state, _):
            new, grads = self.inner.step(params, state, x_UxD, y_U)
            update, grad = (_flat(new[0]) - _flat(state[0])), _flat(grads)
            cosine = -jnp.vdot(update, grad) / (jnp.linalg.norm(update) * jnp.linalg.norm(grad)
                                                + 1e-30)
            return new, (self.inner.predict(params, state[0], x_QxD), cosine)

        last, (preds, cosines) = jax.lax.scan(step, self.inner.start(params, x_UxD, y_U),
                                              length=steps)
        final = self.inner.predict(params, last[0], x_QxD)[None]
        return jnp.concatenate([preds, final]), cosines

    def adapt(self, params, x_UxD, y_U, x_QxD, steps: int) -> jax.Array:
        """(steps + 1, Q) predictions on the queries after 0 .. steps inner steps."""
        return self.trace(params, x_UxD, y_U, x_QxD, steps)[0]

    def adapt_params(self, params, x_UxD, y_U, steps: int):
        """The params with the weights after `steps` inner steps (train=reptile)."""
        state = jax.lax.fori_loop(0, steps, lambda _, s: self.inner.step(params, s, x_UxD, y_U)[0],
                                  self.inner.start(params, x_UxD, y_U))
        return self.inner.params_after(params, state[0])


class Policy(NamedTuple):
    """Reinforcement learning: one step at a time, with a carry (memory) between steps.

    `act(params, carry, obs, key) -> (carry, logits_A, value)`; the caller samples the action from
    the logits. References return value 0 and may use `key` (e.g. Thompson sampling).
    """
    init: Callable[[Any], Any]       # key (learners) or references.Context -> params
    carry: Callable[[Any], Any]      # params -> carry at the start of an episode
    act: Callable[[Any, Any, jax.Array, jax.Array], tuple]
    # Recurrent agents: ticks -> the same policy (same params) given that many extra recurrent
    # steps on the first observation before it acts (test-time compute, the thinking-ticks probe);
    # `noop=True`: the extra steps read a zeroed input (the state carried on without the
    # observation: the probe's capacity control). Feed-forward maze agents return themselves
    # (nothing to think with: the probe's control).
    think: Callable[[int], "Policy"] | None = None
    # Feed-forward agents: the carry is never read (each step depends on its observation only),
    # so a batch of steps can be evaluated at once (PPO's replay) instead of one after another.
    feed_forward: bool = False
    # Learners: (params, carry, obs) -> (carry, per-layer activations): a tuple of flat vectors,
    # one per layer from the input (0) up to the last hidden layer, named by `layers`.
    features: Callable | None = None
    layers: tuple[str, ...] = ()
    # Per layer of `features`: its channel count where the layer is a map (flat features ordered
    # (..., channel)), None where it is a vector (channel-level retargeting, probes/steering.py).
    layer_channels: tuple[int | None, ...] = ()
    # Learners: (layer, vector) -> the same policy with `vector` added to that layer's activations
    # at every step (activation steering; the probes goal_probes and steering).
    steer: Callable[[int, jax.Array], "Policy"] | None = None
    # Policies that can think: (fresh carry, n) -> the fresh carry of an episode that begins with
    # n extra ticks (traced; at most the count of the `think(count)` policy it is used with).
    thinking_carry: Callable[[Any, jax.Array], Any] | None = None
    # Size-independent agents: env -> the same policy (same params) for another size of the
    # family's env (e.g. larger mazes than it trained on).
    resized: Callable[[Any], "Policy"] | None = None
    # Recurrent learners: `act` split where it first reads memory. `encode(params, obs)` is the
    # part that reads the observation alone, `act_encoded(params, carry, obs, encoding)` the rest
    # (-> act's (carry, logits_A, value)), so that a replay of recorded steps can encode them all
    # at once and step only the rest (PPO's replay; purejaxrl's and CleanRL's recurrent agents
    # encode a sequence likewise). `stepwise()`: the same policy without the split.
    encode: Callable[[Any, jax.Array], Any] | None = None
    act_encoded: Callable[[Any, Any, jax.Array, Any], tuple] | None = None

    def stepwise(self) -> "Policy":
        return self._replace(encode=None, act_encoded=None)


class LayerTap:
    """Inside a network's forward pass: `x = tap(x)` records layer x (flattened, in call order:
    `Policy.features`) and, for the steered layer (`steer = (index, vector)`), first adds the
    vector to it, so that the layers above read the steered activations."""

    def __init__(self, steer=None, start: int = 0):
        # start: the index of the first layer this pass records (a pass that begins above the
        # input: `Policy.act_encoded`)
        self.steer, self.layers, self.start = steer, [], start

    def __call__(self, x):
        if self.steer is not None and self.steer[0] == self.start + len(self.layers):
            x = x + self.steer[1].reshape(x.shape)
        self.layers.append(x.reshape(-1))
        return x


def _flat(tree) -> jax.Array:
    return jnp.concatenate([jnp.ravel(leaf) for leaf in jax.tree.leaves(tree)])
