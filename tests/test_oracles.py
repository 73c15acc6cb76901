import torch

from app.engine.cache import cache_dir
from app.engine.data.dataset import to_float
from app.engine.events import Query
from app.engine.oracle import NoisyOracle, ReplayOracle, SimulatedOracle
from app.engine.oracle.simulated import DRAWS, ORACLE_SEED
from app.engine.perturb import perturb_examples

GRID = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]


def query(i, grid=GRID):
    return Query(example_id=i, label=0, class_name="", level=0.0, round=1, utility=0.0, noise_seed=0, grid=grid)


def test_simulated_levels_are_the_largest_level_recognised_at_every_smaller_level(small):
    oracle = SimulatedOracle(small, GRID, "small-cnn", epochs=2, device=torch.device("cpu"))
    levels = oracle.levels()
    assert torch.isin(levels, torch.tensor(GRID)).all()
    # Recompute the rule for a sample of examples with the cached reference model.
    from models import build

    # The session cache holds other tests' reference models too: load this oracle's own.
    state = torch.load(cache_dir("oracle") / f"reference-{oracle.cache_key()}.pt")["model"]
    model = build("small-cnn", 10, 1, 28)
    model.load_state_dict(state)
    model.eval()
    ids = torch.arange(0, 600, 15)
    x, y = to_float(small.train_x[ids]), small.train_y[ids]

    def recognised(level):
        draws = 1 if level == 0 else DRAWS
        with torch.no_grad():
            hits = sum((model(perturb_examples(x, ids, level, ORACLE_SEED, d)).argmax(1) == y).float() for d in range(draws))
        return hits >= draws / 2

    passes = torch.stack([recognised(level) for level in GRID], dim=1)  # (examples, levels)
    for row, level in zip(passes, levels[ids]):
        k = int(torch.nonzero(torch.tensor(GRID) == level))
        if k > 0:
            assert bool(row[: k + 1].all())  # recognised at the conform level and every smaller one
        if k + 1 < len(GRID) and (k > 0 or row[0]):
            assert not bool(row[k + 1])  # ...and not at the next one
    assert oracle.answer([query(3), query(4)]) == [GRID[int(torch.nonzero(torch.tensor(GRID) == levels[i]))] for i in (3, 4)]


def test_conform_levels_are_cached(small):
    first = SimulatedOracle(small, GRID, "small-cnn", epochs=2, device=torch.device("cpu")).levels()
    again = SimulatedOracle(small, GRID, "small-cnn", epochs=2, device=torch.device("cpu"))
    again_levels = again.levels()
    assert torch.equal(first, again_levels)
    assert len(list(cache_dir("oracle").glob("conform-*.pt"))) >= 1


def test_replay_reads_a_csv_with_skips_and_undone_answers(tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text("example_id,level,undone\n3,0.4,0\n5,,0\n7,0.9,1\n3,0.6,0\n")
    missing = []
    oracle = ReplayOracle(path, on_missing=missing.extend)
    assert oracle.answer([query(3), query(5), query(7)]) == [0.6, None, None]
    assert missing == [7]  # undone answers do not count


def test_annotator_noise_moves_answers_by_one_grid_step(tmp_path):
    levels = torch.full((400,), 0.4)
    torch.save({"levels": levels}, tmp_path / "levels.pt")
    noisy = NoisyOracle(ReplayOracle(tmp_path / "levels.pt"), probability=0.5, seed=0)
    answers = noisy.answer([query(i) for i in range(400)])
    assert set(answers) == {0.2, 0.4, 0.6}
    changed = sum(a != 0.4 for a in answers) / 400
    assert 0.4 < changed < 0.6
    # A run resumed from a checkpoint asks the rest in new batches: each example's slip must
    # not depend on what was asked before it.
    again = NoisyOracle(ReplayOracle(tmp_path / "levels.pt"), probability=0.5, seed=0)
    assert again.answer([query(i) for i in range(399, 199, -1)]) == answers[399:199:-1]
    other_seed = NoisyOracle(ReplayOracle(tmp_path / "levels.pt"), probability=0.5, seed=1)
    assert other_seed.answer([query(i) for i in range(400)]) != answers
