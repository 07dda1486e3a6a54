"""Actor-critic for gridworlds: a convolutional encoder of the boolean grid, then a GRU (the
recurrent agent: memory across steps, and test-time compute) or a dense layer (`recurrent:
false`, the feed-forward agent), then policy logits and a value.

The recurrent agent computes in ticks (DRC's structure, Guez et al. 2019): `ticks_per_step = T`
runs the GRU T times per environment step, the embedded observation re-injected as the input of
every tick (T = 1: one GRU step per environment step). `thinking_ticks = N` runs it N extra
times on the first observation before the first action (Taufeeque et al. 2024): whatever the
agent computes in those ticks is planning before acting. `Policy.think(n)` is the same agent with
n ticks (the thinking-ticks probe); `train.thinking_ticks` (PPO) draws them per training episode
through `Policy.thinking_carry`. The carry is (GRU state, extra ticks still to think before this
step's action): an episode's fresh carry holds its thinking ticks, every later carry 0.
Its name in tables says what it is (`predictor_name`): encoder `conv` (with convolutions) or
`mlp` (a dense layer on the flattened grid; `conv_s2` when the first convolution has stride 2),
then `_gru` when recurrent (`_convgru` with the convolutional core): `conv_gru`, `conv`,
`conv_s2`, `mlp_gru`, `mlp`, `conv_s2_convgru`.
Dimension letters (docs/architecture.md): A actions, C carry (hidden) units, H x W grid.
"""
from __future__ import annotations

import dataclasses
import itertools

import flax.linen as nn
import jax
import jax.numpy as jnp

from mesaopt.config import positive, require
from mesaopt.predictor import LayerTap, Policy
from mesaopt.tasks import Env

SETTING = "rl"


@dataclasses.dataclass(frozen=True)
class Config:
    name: str = "conv_gru"
    channels: tuple[int, ...] = (16, 32)  # 3x3 convolutions (SAME padding), ReLU; () = none
    # The first convolution's stride: 2 reads 3 x 3 windows at stride 2 (VALID padding), which on
    # a maze's (2n + 1) grid are centred on the n x n cells, each with its four walls: nothing
    # is lost, and the layers after it read 5 x fewer positions (about 3 x cheaper per step).
    stride: int = 1
    embed: int = 128       # dense layer after the encoder
    hidden: int = 128      # C: GRU state (recurrent) or a second dense layer (feed-forward)
    recurrent: bool = True
    # The recurrent core: "dense", a GRU on the flattened encoding (size-dependent), or "conv", a
    # convolutional GRU on the encoder's map (DRC's kind of core, Guez et al. 2019): its state is
    # a map of `hidden` channels, a tick moves information one position, and the policy reads
    # the state at the agent's position and its maximum over the map. Nothing in it depends on
    # the grid's size: the agent runs on larger mazes than it trained on (`Policy.resized`).
    core: str = "dense"
    ticks_per_step: int = 1     # T GRU ticks per environment step, the observation re-injected
    thinking_ticks: int = 0     # N extra ticks before an episode's first action
    # false: the thinking ticks are not differentiated (no gradient flows into the state they
    # produce; deep-thinking networks' warm start without gradient, Bansal et al. 2022)
    thinking_gradient: bool = True

    def validate(self, path: str) -> None:
        positive(self, path, "embed", "hidden")
        require(all(c > 0 for c in self.channels), f"{path}.channels",
                f"must be positive channel counts (empty: no convolution), got {self.channels}")
        require(self.thinking_ticks >= 0, f"{path}.thinking_ticks",
                f"must be >= 0, got {self.thinking_ticks}")
        require(self.stride in (1, 2), f"{path}.stride", f"must be 1 or 2, got {self.stride}")
        require(self.stride == 1 or self.channels, f"{path}.stride",
                "needs convolutions (channels) to stride")
        require(self.core in ("dense", "conv"), f"{path}.core",
                f"unknown option {self.core!r} (allowed: dense, conv)")
        require(self.core == "dense" or (self.recurrent and self.channels), f"{path}.core",
                "conv needs recurrent: true and convolutions (channels)")
        require(self.recurrent or self.thinking_ticks == 0, f"{path}.thinking_ticks",
                "needs recurrent: true (a feed-forward agent has nothing to think with)")
        require(self.ticks_per_step >= 1, f"{path}.ticks_per_step",
                f"must be >= 1, got {self.ticks_per_step}")
        require(self.recurrent or self.ticks_per_step == 1, f"{path}.ticks_per_step",
                "needs recurrent: true (a feed-forward agent has no ticks)")


def predictor_name(cfg: Config) -> str:
    encoder = ("conv" + ("_s2" if cfg.stride == 2 else "")) if cfg.channels else "mlp"
    return encoder + ("_convgru" if cfg.core == "conv" else "_gru" if cfg.recurrent else "")


class Conv3x3(nn.Module):
    """A 3 x 3 convolution over one (H, W, C) image, stride 1 with SAME padding or stride 2 with
    VALID padding, written as a matmul of its patches (im2col): the member and episode axes that
    vmap adds become batch dimensions of one dot product. With XLA's CPU convolutions (grouped
    ones under a member vmap) PPO on mazes ran 1.5-6 x slower (scripts/bench_maze_agents.py;
    README, Performance). Parameters, their initialization and values are flax's `nn.Conv`'s
    (`strides=2, padding="VALID"` for stride 2)."""
    features: int
    stride: int = 1

    @nn.compact
    def __call__(self, x_HxWxC):
        h, w, c = x_HxWxC.shape
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (3, 3, c, self.features))
        bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))
        s = self.stride
        if s == 1:
            x_HxWxC = jnp.pad(x_HxWxC, ((1, 1), (1, 1), (0, 0)))
        else:
            h, w = (h - 3) // s + 1, (w - 3) // s + 1
        patches = jnp.concatenate([x_HxWxC[i:i + s * (h - 1) + 1:s, j:j + s * (w - 1) + 1:s]
                                   for i in range(3) for j in range(3)],
                                  axis=-1)  # (H', W', 9 C): tap (i, j) outer, channel inner
        return patches @ kernel.reshape(9 * c, self.features) + bias


class ConvGRUCell(nn.Module):
    """A GRU whose gates are 3 x 3 convolutions over an (H, W) map (the convolutional recurrent
    cells of Shi et al. 2015 with GRU gates): `(state_HxWxC, input_HxWxF) -> state_HxWxC`."""
    features: int

    @nn.compact
    def __call__(self, h_HxWxC, x_HxWxF):
        both = jnp.concatenate([x_HxWxF, h_HxWxC], axis=-1)
        z, r = jnp.split(nn.sigmoid(Conv3x3(2 * self.features, name="gates")(both)), 2, axis=-1)
        candidate = jnp.tanh(Conv3x3(self.features, name="input")(x_HxWxF)
                             + r * Conv3x3(self.features, name="recurrent")(h_HxWxC))
        return (1 - z) * candidate + z * h_HxWxC


def agent_map(obs, channel: int, stride: int) -> jax.Array:
    """(H', W') weights of the positions the agent is at, on the encoder's map: its channel of the
    observation, at stride 2 the 3 x 3 windows (a square between two cells is in both)."""
    agent = obs[..., channel].astype(jnp.float32)
    if stride == 2:
        agent = jax.lax.reduce_window(agent, 0.0, jax.lax.max, (3, 3), (2, 2), "VALID")
    return agent / jnp.maximum(agent.sum(), 1.0)


def map_shape(cfg: Config, obs_shape) -> tuple[int, int]:
    """(H', W') of the encoder's map for observations of `obs_shape`."""
    h, w = obs_shape[:2]
    return ((h - 3) // 2 + 1, (w - 3) // 2 + 1) if cfg.stride == 2 else (h, w)


def recurrent_step(cell, hidden_C, input_C, extra, max_extra: int, per_step: int,
                   gradient: bool = True, noop: bool = False):
    """The recurrent core of one environment step: `extra` thinking ticks (traced, at most the
    static `max_extra`; the ticks beyond it leave the state as it is), then `per_step` ticks;
    `cell(state, input) -> state`, and every tick reads the same `input_C` (the observation
    re-injected), except thinking ticks that are no-ops (`noop`: they read zeros, the state
    carried on without the observation: a control for what thinking adds beyond more steps of the
    state). `gradient=False` stops the gradient at the state the thinking ticks produced (where
    there were any). Returns the new state."""
    thought_C = hidden_C
    thinking_input = jnp.zeros_like(input_C) if noop else input_C
    for i in range(max_extra):
        thought_C = jnp.where(i < extra, cell(thought_C, thinking_input), thought_C)
    if not gradient and max_extra:
        thought_C = jnp.where(extra > 0, jax.lax.stop_gradient(thought_C), thought_C)
    for _ in range(per_step):
        thought_C = cell(thought_C, input_C)
    return thought_C


class Agent(nn.Module):
    """Returns (carry, logits_A, value, layers): `layers` are the activations of every layer,
    flattened (the policy's `features`). `steer = (layer, vector)` adds the vector to that
    layer's activations before the layers above read them (the recurrent state: the state that is
    carried on, so the addition acts at every step). `encode_only`: return the encoder's output
    (the layers below the recurrent core, which read the observation alone); `encoding`: start
    from it (core "conv"'s readout still reads the observation). Submodules are named as Flax
    names them in a whole pass, whichever part runs."""
    cfg: Config
    num_actions: int
    ticks: int
    agent_channel: int | None = None  # the observation's agent channel (core "conv" reads it)
    noop: bool = False  # the thinking ticks read zeros (recurrent_step)

    @nn.compact
    def __call__(self, carry, obs, steer=None, encoding=None, encode_only=False):
        cfg, conv = self.cfg, self.cfg.core == "conv"
        dense = (f"Dense_{i}" for i in itertools.count())
        embed_name = "Embed" if conv else next(dense)
        layer = LayerTap(steer, 0 if encoding is None else layer_names(cfg).index("embed") + 1)
        if encoding is None:
            x = layer(obs.astype(jnp.float32))
            for i, channels in enumerate(cfg.channels):
                x = layer(nn.relu(Conv3x3(channels, cfg.stride if i == 0 else 1,
                                          name=f"Conv_{i}")(x)))
            if conv:
                encoding = layer(nn.relu(Conv3x3(cfg.embed, name=embed_name)(x)))
            else:
                encoding = layer(nn.relu(nn.Dense(cfg.embed, name=embed_name)(x.reshape(-1))))
            if encode_only:
                return encoding
        hidden_C, extra = carry
        if conv:
            cell = ConvGRUCell(cfg.hidden, name="ConvGRUCell_0")
        elif cfg.recurrent:
            # lecun_normal, not Flax's orthogonal default: see learners/gru.py.
            gru = nn.GRUCell(cfg.hidden, recurrent_kernel_init=nn.initializers.lecun_normal(),
                             name="GRUCell_0")
            cell = lambda h, x: gru(h, x)[0]  # noqa: E731
        if not cfg.recurrent:
            out_C = layer(nn.relu(nn.Dense(cfg.hidden, name=next(dense))(encoding)))
        else:
            hidden_C = layer(recurrent_step(cell, hidden_C, encoding, extra, self.ticks,
                                            cfg.ticks_per_step, cfg.thinking_gradient, self.noop))
            out_C = hidden_C
            if conv:  # the state at the agent's position and its maximum
                where = agent_map(obs, self.agent_channel, cfg.stride)
                pooled = jnp.concatenate([jnp.einsum("hw,hwc->c", where, hidden_C),
                                          hidden_C.max(axis=(0, 1))])
                out_C = nn.relu(nn.Dense(cfg.hidden, name="Readout")(pooled))
        logits_A = nn.Dense(self.num_actions, kernel_init=nn.initializers.normal(0.01),
                            name=next(dense))(out_C)
        value = nn.Dense(1, name=next(dense))(out_C)[0]
        return (hidden_C, jnp.int32(0)), logits_A, value, tuple(layer.layers)


def layer_names(cfg: Config) -> tuple[str, ...]:
    """What each of `Policy.features`' layers is: the grid, each convolution, the embedding, the
    hidden layer (the GRU state where recurrent; a map with core "conv")."""
    return ("input", *(f"conv{i}" for i in range(len(cfg.channels))), "embed",
            "gru" if cfg.recurrent else "hidden")


def layer_channels(cfg: Config, obs_channels: int) -> tuple[int | None, ...]:
    """The channel count of each of `layer_names`' layers that is a map (None: a vector)."""
    conv = cfg.core == "conv"
    return (obs_channels, *cfg.channels, cfg.embed if conv else None, cfg.hidden if conv else None)


def build(cfg: Config, env: Env, ticks: int | None = None, steer=None,
          noop: bool = False) -> Policy:
    ticks = cfg.thinking_ticks if ticks is None else ticks
    conv = cfg.core == "conv"
    require(not conv or env.gridworld is not None, "learner.core",
            f"conv reads the agent's position: it needs a gridworld (task=maze), not {env.name}")
    module = Agent(cfg, env.num_actions, ticks, env.gridworld.channels.agent if conv else None,
                   noop)
    state_shape = (*map_shape(cfg, env.obs_shape), cfg.hidden) if conv else (cfg.hidden,)

    def carry(params):
        return jnp.zeros(state_shape), jnp.int32(ticks)

    def init(key):
        return module.init(key, carry(None), jnp.zeros(env.obs_shape, bool))["params"]

    def act_encoded(params, carry, obs, encoding):  # encoding None: the whole pass
        return module.apply({"params": params}, carry, obs, steer, encoding)[:3]

    def act(params, carry, obs, key):
        return act_encoded(params, carry, obs, None)

    def encode(params, obs):
        return module.apply({"params": params}, None, obs, steer, None, True)

    def features(params, carry, obs):
        out = module.apply({"params": params}, carry, obs, steer)
        return out[0], out[3]

    # A feed-forward agent given thinking ticks is the same agent (nothing to think with): the
    # thinking-ticks probe's control.
    think = ((lambda n, noop=False: build(cfg, env, n, steer, noop)) if cfg.recurrent
             else (lambda n, noop=False: policy))
    thinking_carry = (lambda fresh, n: (fresh[0], jnp.minimum(n, ticks).astype(jnp.int32))) \
        if cfg.recurrent else None
    policy = Policy(init, carry, act, think, feed_forward=not cfg.recurrent, features=features,
                    layers=layer_names(cfg), thinking_carry=thinking_carry,
                    layer_channels=layer_channels(cfg, env.obs_shape[-1]),
                    steer=lambda layer, vector: build(cfg, env, ticks, (layer, vector), noop),
                    resized=(lambda other: build(cfg, other, ticks, steer, noop)) if conv else None,
                    encode=encode if cfg.recurrent else None,
                    act_encoded=act_encoded if cfg.recurrent else None)
    return policy
