"""In-context classification: the clusters' and GPICL's data against their settings (over many
sequences), the references on hand-built episodes, the loss, the accuracy probe, and the
analyses (transience, GPICL phases) on tables whose answers are known."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from mesaopt import registry, tasks
from mesaopt.analysis import classification
from mesaopt.config import ConfigError
from mesaopt.probes.accuracy import scores
from mesaopt.references import Context
from mesaopt.tasks import clusters, digits, digits_gpicl

N, B, L = 8, 2, 16
CFG = clusters.Config(dim=32, labels=L, context_items=N, bursts=B, within_noise=0.02,
                      max_pool_size=256)


def _draw(family, split, num_tasks, count=4000, bursty_rate=0.9, seed=0):
    task_BxK, episodes = jax.jit(lambda k: tasks.sample_labeled_batch(
        family, k, jax.random.key(99), jnp.int32(num_tasks), jnp.float32(0.0), count,
        split=split, axes={"bursty_rate": jnp.float32(bursty_rate)}))(jax.random.key(seed))
    return np.asarray(task_BxK), np.asarray(episodes.x_KxD), np.asarray(episodes.y_K)


@pytest.fixture(scope="module")
def family():
    return clusters.build(CFG)


def _pool_labels(family, size):
    return np.asarray(tasks.task_pool(family.sample_task, jax.random.key(99), size)[1])


def test_bursty_sequences_hold_n_over_b_classes_b_times_at_the_set_rate(family):
    task_BxK, _, _ = _draw(family, "pretrain", 200, bursty_rate=0.3)
    copies_B = np.sum(task_BxK[:, :-1] == task_BxK[:, -1:], axis=1)
    # Bursty: the query's class exactly B times and N / B classes of B items each. A
    # non-bursty sequence (8 independent draws from 200 classes) rarely looks like one.
    bursty_B = np.array([sorted(np.unique(t[:-1], return_counts=True)[1]) == [B] * (N // B)
                         and c == B for t, c in zip(task_BxK, copies_B)])
    assert abs(bursty_B.mean() - 0.3) < 0.03
    assert np.mean(copies_B[~bursty_B] > 0) < 0.06   # ~ 1 - (1 - 1/200)^8 = 0.039
    never = _draw(family, "pretrain", 200, bursty_rate=0.0)[0]
    always = _draw(family, "pretrain", 200, bursty_rate=1.0)[0]
    assert np.all(np.sum(always[:, :-1] == always[:, -1:], axis=1) >= B)
    assert np.mean(np.sum(never[:, :-1] == never[:, -1:], axis=1) == B) < 0.01


def test_classes_follow_their_zipf_frequencies_and_stay_in_the_pool():
    family = clusters.build(CFG.__class__(**{**CFG.__dict__, "zipf": 1.0}))
    task_BxK, _, _ = _draw(family, "pretrain", 8, bursty_rate=0.0, count=8000)
    counts = np.bincount(task_BxK.ravel(), minlength=8)
    assert counts.sum() == task_BxK.size   # every class in the first M = 8
    expected = (1.0 / np.arange(1, 9)) / np.sum(1.0 / np.arange(1, 9))
    np.testing.assert_allclose(counts / counts.sum(), expected, atol=0.01)
    uniform = _draw(clusters.build(CFG), "pretrain", 8, bursty_rate=0.0, count=8000)[0]
    np.testing.assert_allclose(np.bincount(uniform.ravel()) / uniform.size, 1 / 8, atol=0.01)


def test_items_scatter_around_their_class_centroid_with_the_set_noise(family):
    task_BxK, x_BxKxD, y_BxK = _draw(family, "pretrain", 16, count=2000)
    centroid_MxD, label_M = (np.asarray(a) for a in tasks.task_pool(
        family.sample_task, jax.random.key(99), 16))
    scale = 1 / np.sqrt(1 + CFG.within_noise ** 2)
    residual = x_BxKxD - centroid_MxD[task_BxK] * scale
    np.testing.assert_allclose(residual.std(), CFG.within_noise * scale, rtol=0.03)
    np.testing.assert_array_equal(y_BxK, label_M[task_BxK])   # training labels are the classes'


def test_iw_never_shows_the_querys_class_and_keeps_trained_labels(family):
    task_BxK, _, y_BxK = _draw(family, "iw", 32)
    assert not np.any(task_BxK[:, :-1] == task_BxK[:, -1:])
    np.testing.assert_array_equal(y_BxK, _pool_labels(family, 32)[task_BxK])


def test_ic_uses_novel_classes_with_a_bijective_labelling_per_sequence(family):
    task_BxK, x_BxKxD, y_BxK = _draw(family, "ic", 32)
    assert np.all(task_BxK == -1)   # fresh classes: never in a pool
    for x_KxD, y_K in zip(x_BxKxD[:300], y_BxK[:300]):
        # items of one class (near each other) share a label; different classes differ
        same_class = np.linalg.norm(x_KxD[:, None] - x_KxD[None], axis=-1) < 0.5
        np.testing.assert_array_equal(same_class, y_K[:, None] == y_K[None])
    assert np.all(np.sum(y_BxK[:, :-1] == y_BxK[:, -1:], axis=1) == B)   # bursty


def test_ic_swapped_permutes_the_trained_labels_without_fixed_points(family):
    task_BxK, _, y_BxK = _draw(family, "ic_swapped", 32)
    own = _pool_labels(family, 32)[task_BxK]
    assert np.all(task_BxK >= 0) and np.all(y_BxK != own)
    shift_B = (y_BxK - own) % L
    assert np.all(shift_B == shift_B[:, :1])   # one shift per sequence: a bijection of labels
    assert len(np.unique(shift_B[:, 0])) == L - 1


def test_the_true_split_draws_only_fresh_classes(family):
    task_BxK, _, _ = _draw(family, "true", 32)
    assert np.all(task_BxK == -1)


def test_gpicl_label_maps_are_bijections_and_held_out_images_never_train():
    family = digits_gpicl.build(digits_gpicl.Config(context_len=16))
    pool = tasks.task_pool(family.sample_task, jax.random.key(0), 32)
    assert np.all(np.sort(np.asarray(pool[1]), axis=1) == np.arange(10))
    assert np.all(np.asarray(pool[2]) == 0)
    x_np, y_np = digits.digits_data()
    held = digits.heldout_images(y_np)
    z = digits_gpicl.standardized(x_np, ~held)
    identity = (jnp.eye(64), jnp.arange(10), jnp.int32(0))
    keys = jax.random.split(jax.random.key(1), 100)
    for split, expect_held in ((0, False), (1, True)):
        task = identity[:2] + (jnp.int32(split),)
        episodes = jax.vmap(lambda k: family.sample_episode(k, task, 0.0))(keys)
        rows = np.asarray(episodes.x_KxD).reshape(-1, 64)
        sq = (rows ** 2).sum(1)[:, None] + (z ** 2).sum(1)[None] - 2 * rows @ z.T
        match = sq < 1e-4
        assert match.any(axis=1).all()
        assert np.all(held[match.argmax(axis=1)] == expect_held)
        np.testing.assert_array_equal(np.asarray(episodes.y_K).ravel(), y_np[match.argmax(1)])
    # Training batches come from training tasks on training images, at every M; the true
    # split's tasks are held-out tasks on held-out images.
    for m in (4, tasks.FRESH):
        train = tasks.sample_labeled_batch(family, jax.random.key(2), jax.random.key(0),
                                           jnp.int32(m), 0.0, 64)[0]
        assert np.all(np.asarray(train[2]) == 0)
    true = tasks.sample_labeled_batch(family, jax.random.key(2), jax.random.key(0),
                                      jnp.int32(4), 0.0, 64, held_out=True)[0]
    assert np.all(np.asarray(true[2]) == 1)


def _episode(x, y):
    return tasks.Episode(jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.int32))


def _reference(family, name):
    return registry.load("references", name, "ref").build(family)


def test_ncm_and_knn_on_a_hand_built_episode(family):
    # Labels 3 and 5: items near (0, 0) and (4, 0); the query (3, 0) is nearer the 5s' mean
    # ((4, 0)) and its nearest single item (3.5, 0) is a 5 too; the third item at (1, 0) is a 3.
    x = np.zeros((5, CFG.dim))
    x[:, 0] = [0.0, 4.0, 1.0, 3.5, 3.0]
    episode = _episode(x, [3, 5, 3, 5, 5])
    for name in ("ncm", "knn"):
        log_probs = np.asarray(_reference(family, name).apply((), episode))
        np.testing.assert_allclose(np.exp(log_probs).sum(-1), 1.0, rtol=1e-5)
        np.testing.assert_allclose(log_probs[0], -np.log(L), rtol=1e-6)   # nothing seen yet
        assert np.argmax(log_probs[1]) == 3   # only a 3 seen
        assert np.argmax(log_probs[4]) == 5
        assert np.argmax(log_probs[2]) == 3   # (1, 0): nearest the 3
    # At a temperature of 10, position 4's probabilities in closed form: label means 0.5 (3s)
    # and 3.75 (5s), squared distances 6.25 and 0.5625 from the query, softmax, smoothed.
    from mesaopt.references import _classes, ncm
    soft = ncm.build(family, ncm.Config(temperature=10.0)).apply((), episode)
    p5 = 1 / (1 + np.exp(-(6.25 - 0.5625) / 10))
    expected = np.full(L, _classes.SMOOTHING / L)
    expected[[3, 5]] += (1 - _classes.SMOOTHING) * np.array([1 - p5, p5])
    np.testing.assert_allclose(np.exp(soft[4]), expected, rtol=1e-5)


def test_iw_oracle_knows_training_classes_only_and_chance_is_uniform(family):
    pool = tasks.task_pool(family.sample_task, jax.random.key(99), 16)
    oracle = _reference(family, "iw_oracle")
    context = Context(pool, jnp.int32(16), jnp.float32(0.0))
    _, x_BxKxD, y_BxK = _draw(family, "iw", 16, count=200)
    episodes = _episode(x_BxKxD, y_BxK)
    out = jax.vmap(oracle.apply, in_axes=(None, 0))(oracle.init(context), episodes)
    accuracy, _ = scores(out, jnp.asarray(y_BxK))
    assert np.all(np.asarray(accuracy) == 1.0)   # in weights: no context needed
    swapped = _draw(family, "ic_swapped", 16, count=200)
    out = jax.vmap(oracle.apply, in_axes=(None, 0))(oracle.init(context),
                                                    _episode(swapped[1], swapped[2]))
    assert np.all(np.asarray(scores(out, jnp.asarray(swapped[2]))[0]) == 0.0)
    fresh = oracle.apply(oracle.init(context._replace(num_tasks=jnp.int32(tasks.FRESH))),
                         jax.tree.map(lambda a: a[0], episodes))
    np.testing.assert_allclose(fresh, -np.log(L), rtol=1e-6)
    chance = jax.vmap(_reference(family, "chance").apply, in_axes=(None, 0))((), episodes)
    accuracy, xent = scores(chance, jnp.asarray(y_BxK))
    np.testing.assert_allclose(accuracy, 1 / L, rtol=1e-6)
    np.testing.assert_allclose(xent, np.log(L), rtol=1e-6)


def test_accuracy_shares_ties_and_xent_is_the_label_log_loss():
    logits = jnp.asarray([[[0.0, 0.0, -1.0], [2.0, 0.0, 0.0]]])   # B=1, K=2, L=3
    accuracy, xent = scores(logits, jnp.asarray([[1, 1]]))
    np.testing.assert_allclose(accuracy, [0.5, 0.0])
    np.testing.assert_allclose(xent, -np.asarray(jax.nn.log_softmax(logits[0])[:, 1]), rtol=1e-6)


def test_the_loss_of_a_query_only_family_reads_the_query_alone(family):
    y = jnp.asarray([[1, 2, 3]])
    logits = jax.random.normal(jax.random.key(0), (1, 3, L))
    loss = tasks.prediction_loss(family, logits, y)
    moved = tasks.prediction_loss(family, logits.at[:, :2].set(9.0), y)
    np.testing.assert_allclose(loss, moved)
    np.testing.assert_allclose(loss, -jax.nn.log_softmax(logits[0, 2])[3], rtol=1e-6)
    gpicl = digits_gpicl.build(digits_gpicl.Config(context_len=3))
    every = tasks.prediction_loss(gpicl, logits[..., :10], y)
    np.testing.assert_allclose(every, -np.mean([jax.nn.log_softmax(logits[0, k, :10])[y[0, k]]
                                                for k in range(3)]), rtol=1e-6)


def test_the_transformer_classifies_and_sees_only_earlier_labels(family):
    from mesaopt.learners import transformer
    learner = transformer.build(transformer.Config(depth=1, width=16, heads=2), family)
    params = learner.init(jax.random.key(0))
    _, x, y = _draw(family, "pretrain", 16, count=1)
    episode = _episode(x[0], y[0])
    out = learner.apply(params, episode)
    assert out.shape == (N + 1, L)
    changed = learner.apply(params, episode._replace(y_K=episode.y_K.at[4].set((y[0, 4] + 1) % L)))
    np.testing.assert_allclose(out[:5], changed[:5], rtol=1e-6)   # label 4 is seen after x_4
    assert not np.allclose(out[5:], changed[5:])


def test_a_learner_that_cannot_classify_is_a_one_line_config_error(compose_cfg):
    from mesaopt import compose
    with pytest.raises(ConfigError, match="learner.name.*lsa.*classification task.*transformer"):
        compose.load_config(compose_cfg("task=clusters", "learner=lsa"))


def _table(rows):
    return pd.DataFrame(rows).assign(role="learner", metric="accuracy", run_id="r")


def test_transience_finds_the_peak_and_the_fall():
    values = [0.1, 0.6, 0.9, 0.7, 0.4]
    df = _table([dict(member=0, seed=0, num_tasks=64.0, step=100 * i, split="ic",
                      predictor="transformer", position=8, value=v) for i, v in enumerate(values)])
    out = classification.transience(df, "transformer").iloc[0]
    assert (out.peak_step, out.final_step) == (200, 400)
    np.testing.assert_allclose([out.peak, out.final, out["drop"]], [0.9, 0.4, 0.5])


@pytest.mark.parametrize("train_first, train_late, unseen_late, phase", [
    (0.95, 0.95, 0.1, "memorization"), (0.2, 0.9, 0.12, "task identification"),
    (0.2, 0.8, 0.6, "general"), (0.1, 0.12, 0.1, "none")])
def test_gpicl_phases_from_accuracies_on_training_and_unseen_tasks(
        train_first, train_late, unseen_late, phase):
    rows = []
    for seed in (0, 1):
        for position in range(8):
            late = position >= 6
            for split, predictor, value in (
                    ("pretrain", "transformer", train_late if late else train_first),
                    ("true", "transformer", unseen_late if late else 0.1),
                    ("true", "chance", 0.1)):
                rows.append(dict(member=seed, seed=seed, num_tasks=16.0, step=10, split=split,
                                 predictor=predictor, position=position, value=value))
    out = classification.gpicl_phases(_table(rows), "transformer").iloc[0]
    assert out.phase == phase
    np.testing.assert_allclose([out.train_late, out.unseen_late, out.chance],
                               [train_late, unseen_late, 0.1])


@pytest.mark.parametrize("name", clusters.build(CFG).references)
def test_classification_reference_contract_jit_vmap_and_finite(family, name):
    reference = _reference(family, name)
    params = reference.init(Context(tasks.task_pool(family.sample_task, jax.random.key(99), 16),
                                    jnp.int32(16), jnp.float32(0.0)))
    _, x, y = _draw(family, "true", 16, count=3)
    batch = _episode(x, y)
    batched = jax.jit(jax.vmap(reference.apply, in_axes=(None, 0)))(params, batch)
    single = reference.apply(params, jax.tree.map(lambda a: a[1], batch))
    assert batched.shape == (3, N + 1, L) and bool(jnp.all(jnp.isfinite(batched)))
    np.testing.assert_allclose(batched[1], single, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(jnp.exp(batched).sum(-1), 1.0, rtol=1e-4)   # log-probabilities


def test_held_out_bursty_sequences_hold_heldout_classes_classes():
    """Training bursts of B = 4 (two classes per context) and held-out contexts of 4 classes with
    2 items each, the query's among them: copying a context label is a 1-in-4 guess there."""
    family = clusters.build(CFG.__class__(**{**CFG.__dict__, "bursts": 4, "heldout_classes": 4}))
    train = _draw(family, "pretrain", 200, count=500, bursty_rate=1.0)[0]
    classes = np.array([len(np.unique(t[:-1])) for t in train])
    assert classes.max() == 2 and np.mean(classes == 2) > 0.98  # two slots may draw one class
    for split in ("true", "ic", "ic_swapped"):
        _, x_BxKxD, y_BxK = _draw(family, split, 200, count=500)
        # fresh classes carry task -1: tell classes apart by their items (within-class spread
        # 0.02, centroids about 1.4 apart): an item's class is the first item near it
        near_BxNxN = np.linalg.norm(x_BxKxD[:, :-1, None] - x_BxKxD[:, None, :-1], axis=-1) < 0.5
        groups_B = np.array([len(np.unique(np.argmax(near, axis=1))) for near in near_BxNxN])
        same_as_query = (np.linalg.norm(x_BxKxD[:, :-1] - x_BxKxD[:, -1:], axis=-1) < 0.5).sum(1)
        if split == "ic_swapped":  # training classes: two slots may draw one of the 200
            assert groups_B.max() == 4 and np.mean(groups_B == 4) > 0.9
            assert np.all(same_as_query >= 2) and np.mean(same_as_query == 2) > 0.9
        else:
            assert np.all(groups_B == 4) and np.all(same_as_query == 2), split
    with pytest.raises(ConfigError, match="heldout_classes"):
        CFG.__class__(**{**CFG.__dict__, "heldout_classes": 3}).validate("task")


def test_copy_label_guesses_uniformly_among_the_context_labels(family):
    episode = _episode(np.zeros((5, CFG.dim)), [3, 5, 3, 7, 5])
    log_probs = np.asarray(_reference(family, "copy_label").apply((), episode))
    np.testing.assert_allclose(log_probs[0], -np.log(L), rtol=1e-6)   # nothing seen yet
    from mesaopt.references import _classes
    for position, present in ((1, [3]), (2, [3, 5]), (4, [3, 5, 7])):
        expected = np.full(L, _classes.SMOOTHING / L)
        expected[present] += (1 - _classes.SMOOTHING) / len(present)
        np.testing.assert_allclose(np.exp(log_probs[position]), expected, rtol=1e-5)
    # On the ic split (4 classes with distinct labels, the query's among them): accuracy 1/4
    _, x, y = _draw(family, "ic", 16, count=300)
    out = jax.vmap(_reference(family, "copy_label").apply, in_axes=(None, 0))((), _episode(x, y))
    np.testing.assert_allclose(np.asarray(scores(out, jnp.asarray(y))[0])[-1], 0.25, rtol=1e-5)
