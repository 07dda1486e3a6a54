"""Actor-critic for gridworlds: a convolutional encoder of the boolean grid, then a GRU (the
recurrent agent: memory across steps, and test-time compute) or a dense layer (`recurrent:
false`, the feed-forward agent), then policy logits and a value.

`thinking_ticks = N` runs the GRU N extra times on the first observation before the first action
(Guez et al. 2019; Taufeeque et al. 2024): whatever the agent computes in those ticks is planning
before acting. `Policy.think(n)` is the same agent with n ticks (the thinking-ticks probe).
Its name in tables says what it is (`predictor_name`): encoder `conv` (with convolutions) or
`mlp` (a dense layer on the flattened grid; `conv_s2` when the first convolution has stride 2),
then `_gru` when recurrent: `conv_gru`, `conv`, `conv_s2`, `mlp_gru`, `mlp`.
Dimension letters (docs/architecture.md): A actions, C carry (hidden) units, H x W grid.
"""
from __future__ import annotations

import dataclasses

import flax.linen as nn
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
    thinking_ticks: int = 0

    def validate(self, path: str) -> None:
        positive(self, path, "embed", "hidden")
        require(all(c > 0 for c in self.channels), f"{path}.channels",
                f"must be positive channel counts (empty: no convolution), got {self.channels}")
        require(self.thinking_ticks >= 0, f"{path}.thinking_ticks",
                f"must be >= 0, got {self.thinking_ticks}")
        require(self.stride in (1, 2), f"{path}.stride", f"must be 1 or 2, got {self.stride}")
        require(self.stride == 1 or self.channels, f"{path}.stride",
                "needs convolutions (channels) to stride")
        require(self.recurrent or self.thinking_ticks == 0, f"{path}.thinking_ticks",
                "needs recurrent: true (a feed-forward agent has nothing to think with)")


def predictor_name(cfg: Config) -> str:
    encoder = ("conv" + ("_s2" if cfg.stride == 2 else "")) if cfg.channels else "mlp"
    return encoder + ("_gru" if cfg.recurrent else "")


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


class Agent(nn.Module):
    """Returns (carry, logits_A, value, layers): `layers` are the activations of every layer,
    flattened (the policy's `features`). `steer = (layer, vector)` adds the vector to that
    layer's activations before the layers above read them (the recurrent state: the state that is
    carried on, so the addition acts at every step)."""
    cfg: Config
    num_actions: int
    ticks: int

    @nn.compact
    def __call__(self, carry, obs, steer=None):
        layer = LayerTap(steer)
        hidden_C, first = carry
        x = layer(obs.astype(jnp.float32))
        for i, channels in enumerate(self.cfg.channels):
            x = layer(nn.relu(Conv3x3(channels, self.cfg.stride if i == 0 else 1,
                                      name=f"Conv_{i}")(x)))
        e = layer(nn.relu(nn.Dense(self.cfg.embed)(x.reshape(-1))))
        if self.cfg.recurrent:
            # lecun_normal, not Flax's orthogonal default: see learners/gru.py.
            cell = nn.GRUCell(self.cfg.hidden, recurrent_kernel_init=nn.initializers.lecun_normal())
            thought_C = hidden_C
            for _ in range(self.ticks):
                thought_C, _ = cell(thought_C, e)
            hidden_C = jnp.where(first, thought_C, hidden_C)
            hidden_C, _ = cell(hidden_C, e)
            out_C = hidden_C = layer(hidden_C)
        else:
            out_C = layer(nn.relu(nn.Dense(self.cfg.hidden)(e)))
        logits_A = nn.Dense(self.num_actions, kernel_init=nn.initializers.normal(0.01))(out_C)
        value = nn.Dense(1)(out_C)[0]
        return (hidden_C, jnp.bool_(False)), logits_A, value, tuple(layer.layers)


def layer_names(cfg: Config) -> tuple[str, ...]:
    """What each of `Policy.features`' layers is: the grid, each convolution, the embedding, the
    hidden layer (the GRU state where recurrent)."""
    return ("input", *(f"conv{i}" for i in range(len(cfg.channels))), "embed",
            "gru" if cfg.recurrent else "hidden")


def build(cfg: Config, env: Env, ticks: int | None = None, steer=None) -> Policy:
    module = Agent(cfg, env.num_actions, cfg.thinking_ticks if ticks is None else ticks)

    def carry(params):
        return jnp.zeros((cfg.hidden,)), jnp.bool_(True)

    def init(key):
        return module.init(key, carry(None), jnp.zeros(env.obs_shape, bool))["params"]

    def act(params, carry, obs, key):
        return module.apply({"params": params}, carry, obs, steer)[:3]

    def features(params, carry, obs):
        out = module.apply({"params": params}, carry, obs, steer)
        return out[0], out[3]

    think = (lambda n: build(cfg, env, n, steer)) if cfg.recurrent else None
    return Policy(init, carry, act, think, feed_forward=not cfg.recurrent, features=features,
                  layers=layer_names(cfg),
                  steer=lambda layer, vector: build(cfg, env, ticks, (layer, vector)))
