"""Model FLOPs counted from the architecture (multiply-add = 2 FLOPs).

Forward, per token of the interleaved sequence (T = 2K tokens, width W, L blocks, MLP ratio r):
  embedding 2(D+1)W, per block: QKV 6W^2, attention output 2W^2, MLP 4rW^2, and attention
  itself 4TW (scores and mixing over all T positions, as computed: the causal mask does not skip
  work), read-out 2W. A training step is 3x the forward (backward = 2x forward), times B*T tokens.
LayerNorm, softmax, GELU and the optimizer are not counted (they are not matmuls).
"""
from __future__ import annotations


def transformer_forward_flops_per_token(dim: int, context_len: int, depth: int, width: int,
                                        mlp_ratio: int) -> int:
    tokens = 2 * context_len
    block = 6 * width**2 + 2 * width**2 + 4 * mlp_ratio * width**2 + 4 * tokens * width
    return 2 * (dim + 1) * width + depth * block + 2 * width


def transformer_train_flops_per_step(family, learner_cfg, batch_size: int) -> int:
    per_token = transformer_forward_flops_per_token(family.input_dim, family.context_len,
                                                    learner_cfg.depth, learner_cfg.width,
                                                    learner_cfg.mlp_ratio)
    return 3 * per_token * batch_size * 2 * family.context_len
