"""PPO's replay of recurrent maze agents in its two forms: the encoder applied to every recorded
step at once before the recurrent loop (`Policy.encode`), or the whole network stepped inside the
loop (`Policy.stepwise()`). Times one gradient step of the clipped-surrogate loss (a minibatch of
16 environments x 64 steps of `experiment=maze_diversity_cpu`'s mazes, collected by the current
policy) at several member counts vmapped on one device, and prints encoded / stepwise: below 1
the encoded form is faster. `population.replay_form` uses the encoded form where each device holds
one member (on a CPU; always on other platforms).

Usage: python scripts/bench_replay.py [--members 1,2,4,16] [--repeats 7]
"""
from __future__ import annotations

import argparse

from mesaopt import devices

AGENTS = {  # name -> conv_gru overrides (recurrent agents)
    "mlp_gru": ("learner.channels=[]", "learner.stride=1"),
    "conv16_s2_gru": ("learner.channels=[16]", "learner.stride=2"),
    "conv16_gru": ("learner.channels=[16]", "learner.stride=1"),
}
ENVS, STEPS = 16, 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", default="1,2,4,16")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--agents", default=",".join(AGENTS))
    args = parser.parse_args()
    devices.expose_cpu(1)  # before JAX's backend starts
    import jax
    import jax.numpy as jnp

    from mesaopt import compose, tasks
    from mesaopt.bench.cli import median_time
    from mesaopt.train import ppo

    def median_ms(fn, *operands):
        return median_time(lambda: fn(*operands), args.repeats) * 1e3

    print(f"{'agent':14s} {'members':>7s} {'encoded ms':>10s} {'stepwise ms':>11s} {'ratio':>6s}")
    for name in args.agents.split(","):
        cfg = compose.load_config(compose.compose_config(
            "experiment=maze_diversity_cpu", "logger=none", "progress=false", *AGENTS[name],
            "learner.recurrent=true", "sweep.num_tasks=[null]", "sweep.seeds=1",
            f"train.rollout_steps={STEPS}"))
        env, policy, pop = compose.build(cfg)
        draw = tasks.env_sampler(env, pop.member(0).noise_std, pop.member(0).axes)
        episodes = cfg.train.rollout_episodes
        for members in map(int, args.members.split(",")):
            params = jax.vmap(policy.init)(jax.random.split(jax.random.key(0), members))

            def collect(params, key):
                levels = jax.vmap(draw)(jax.random.split(key, ENVS * episodes))
                levels = jax.tree.map(lambda a: a.reshape(ENVS, episodes, *a.shape[1:]), levels)
                traj = jax.vmap(lambda task, k: tasks.run_episodes(
                    env, policy, params, task, k, STEPS, keep_obs=True)[0])(
                    levels, jax.random.split(key, ENVS))
                logp = jnp.take_along_axis(jax.nn.log_softmax(traj.logits_A),
                                           traj.action[..., None], -1)[..., 0]
                return dict(obs=traj.obs, first=traj.first, action=traj.action, logp=logp,
                            advantage=traj.reward, target=traj.value,
                            alive=traj.alive.astype(jnp.float32))
            batch = jax.jit(jax.vmap(collect))(params, jax.random.split(jax.random.key(1), members))

            def gradient(form):
                return jax.jit(jax.vmap(lambda p, b: jax.grad(lambda q: ppo.surrogate_loss(
                    form, cfg.train, q, b, cfg.train.entropy_coef)[0])(p)))
            encoded = median_ms(gradient(policy), params, batch)
            stepwise = median_ms(gradient(policy.stepwise()), params, batch)
            print(f"{name:14s} {members:7d} {encoded:10.1f} {stepwise:11.1f} "
                  f"{encoded / stepwise:6.2f}", flush=True)


if __name__ == "__main__":
    main()
