"""Where a training step's FLOPs go, read from the program itself (no device needed).

`dots(text)` reads every `stablehlo.dot_general` of a lowered program (its StableHLO, before any
backend rewrites it, so the same on a CPU and a GPU): operand and result dtypes, the batch,
free (M, N) and contracted (K) sizes, and its FLOPs (2 x result elements x K). `profile(cfg)`
lowers a run's training chunk of one step and groups its matmuls by shape and dtype, with the
transposes the program asks for (the layout work a GPU pays for between small matmuls).

A matmul whose sizes are a few hundred moves as many bytes per FLOP as a GPU's memory can feed:
its arithmetic intensity (FLOPs per byte of operands and result) is below the device's ridge
(peak FLOP/s over memory bandwidth), and `roofline` bounds the share of the peak such matmuls can
reach, each taking the longer of its compute and its memory time. A population batches every
member's matmul but each member brings its own weights, so batching does not raise the
intensity: the bound holds for a population too. Everything else a step does (normalisation,
softmax, the optimizer) only moves more bytes, so the bound is optimistic. A loop body is counted
once: lower a chunk of one step.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from typing import NamedTuple

TENSOR = re.compile(r"tensor<([0-9x]*)x?([a-z]+[0-9]*)>")
DOT = re.compile(r"stablehlo\.dot_general.*?batching_dims = \[([0-9, ]*)\] x \[[0-9, ]*\], "
                 r"contracting_dims = \[([0-9, ]*)\] x \[[0-9, ]*\].*?:\s*\((.*?)\)\s*->\s*(.*)$")
DOT_PLAIN = re.compile(r"stablehlo\.dot_general.*?contracting_dims = \[([0-9, ]*)\] x "
                       r"\[[0-9, ]*\].*?:\s*\((.*?)\)\s*->\s*(.*)$")


class Dot(NamedTuple):
    lhs: str            # operand dtypes and the result's
    rhs: str
    out: str
    batch: int          # product of the batch dimensions
    m: int              # the result's free sizes: lhs side (M) and rhs side (N)
    n: int
    k: int              # product of the contracted sizes
    flops: int

    @property
    def bytes(self) -> int:
        """Operands read and result written once."""
        m, n, k = self.m, self.n, self.k
        return self.batch * (m * k * SIZE[self.lhs] + k * n * SIZE[self.rhs] + m * n * SIZE[self.out])

    @property
    def intensity(self) -> float:
        return self.flops / self.bytes


SIZE = {"f64": 8, "f32": 4, "bf16": 2, "f16": 2, "i32": 4, "i8": 1}


def _tensor(text: str) -> tuple[tuple[int, ...], str]:
    found = TENSOR.search(text)
    if found is None:
        raise ValueError(f"no tensor type in {text!r}")
    dims, dtype = found.groups()
    return tuple(int(d) for d in dims.split("x") if d), dtype


def _indices(text: str) -> list[int]:
    return [int(i) for i in text.split(",") if i.strip()]


def dots(text: str) -> list[Dot]:
    """Every dot_general of a StableHLO module's text."""
    found = []
    for line in text.splitlines():
        if "stablehlo.dot_general" not in line:
            continue
        match = DOT.search(line)
        if match:
            batching, contracting, operands, result = match.groups()
        else:
            plain = DOT_PLAIN.search(line)
            if plain is None:
                raise ValueError(f"unreadable dot_general: {line.strip()}")
            (contracting, operands, result), batching = plain.groups(), ""
        lhs_text, rhs_text = operands.split(">, ", 1)
        lhs_shape, lhs = _tensor(lhs_text + ">")
        (_, rhs), (out_shape, out) = _tensor(rhs_text), _tensor(result)
        batch_dims, contract_dims = _indices(batching), _indices(contracting)
        batch = math.prod(lhs_shape[d] for d in batch_dims)
        k = math.prod(lhs_shape[d] for d in contract_dims)
        m = math.prod(s for d, s in enumerate(lhs_shape) if d not in (*batch_dims, *contract_dims))
        n = math.prod(out_shape) // max(batch * m, 1)
        found.append(Dot(lhs, rhs, out, batch, m, n, k, 2 * math.prod(out_shape) * k))
    return found


def transposes(text: str) -> tuple[int, int]:
    """(count, elements moved) of the module's transposes."""
    count = elements = 0
    for line in text.splitlines():
        if "stablehlo.transpose" in line:
            count += 1
            elements += math.prod(_tensor(line.rsplit("->", 1)[-1])[0])
    return count, elements


def group(found: list[Dot]) -> list[tuple[Dot, int]]:
    """Matmuls of the same dtypes and sizes together: (one of them, how many), most FLOPs first."""
    counts = Counter(d._replace(flops=0) for d in found)
    by_flops = {key: sum(d.flops for d in found if d._replace(flops=0) == key) for key in counts}
    return sorted(((key._replace(flops=by_flops[key]), n) for key, n in counts.items()),
                  key=lambda pair: -pair[0].flops)


def roofline(found: list[Dot], peak_flops: float, bandwidth: float) -> float:
    """The share of `peak_flops` the matmuls can reach at most: each runs at the slower of its
    compute time and its memory time (`bandwidth` bytes/s)."""
    total = sum(d.flops for d in found)
    return total / peak_flops / sum(max(d.flops / peak_flops, d.bytes / bandwidth) for d in found)


def lowered_step(cfg) -> str:
    """The StableHLO of a run's training chunk (cfg's population, one chunk as configured)."""
    from mesaopt import compose
    _, _, pop = compose.build(cfg)
    hparams = pop.placed_hparams()
    return pop.train_chunk.lower(pop.init(hparams), hparams).as_text()


def table(found: list[Dot], moved: tuple[int, int], rows: int = 12) -> str:
    total = sum(d.flops for d in found) or 1
    lines = [f"{'count':>5} {'batch':>6} {'M':>6} {'N':>6} {'K':>6} {'operands':>11} {'result':>6} "
             f"{'GFLOP':>8} {'share':>6} {'FLOP/B':>7}"]
    for d, n in group(found)[:rows]:
        lines.append(f"{n:>5} {d.batch:>6} {d.m:>6} {d.n:>6} {d.k:>6} {d.lhs + '/' + d.rhs:>11} "
                     f"{d.out:>6} {d.flops / 1e9:>8.3f} {d.flops / total:>6.1%} "
                     f"{d.flops / (n * d.bytes):>7.1f}")  # d holds the group's FLOPs
    by_dtype = Counter()
    for d in found:
        by_dtype[f"{d.lhs}/{d.rhs}->{d.out}"] += d.flops
    lines += [f"{len(found)} matmuls, {total / 1e9:.3f} GFLOP, "
              f"{total / sum(d.bytes for d in found):.1f} FLOP per byte overall; by dtype: "
              + ", ".join(f"{k} {v / total:.1%}" for k, v in by_dtype.most_common()),
              f"transposes: {moved[0]} ({moved[1] / 1e6:.1f} M elements)"]
    return "\n".join(lines)
