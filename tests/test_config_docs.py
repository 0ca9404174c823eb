from dataclasses import dataclass

from maskfuse.config import Config
from maskfuse.config_docs import field_comments, pick, settings


@dataclass
class _Example:
    alpha: int = 1  # first line
    # of alpha, continued
    beta: str = "x"
    gamma: tuple[int, ...] = (1, 2)  # gamma's note with a # inside


def test_comments_are_read_with_their_continuations():
    notes = field_comments(_Example)
    assert notes == {"alpha": "first line of alpha, continued", "gamma": "gamma's note with a # inside"}


def test_every_key_has_a_default_a_type_and_a_description():
    found = settings()
    flat = {}
    for section, values in Config().to_dict().items():
        flat.update({f"{section}.{k}": v for k, v in values.items()} if isinstance(values, dict) else {section: values})
    assert [s.key for s in found] == list(flat)
    assert all(s.default == flat[s.key] for s in found)
    assert [s.key for s in found if not s.description] == []
    steps = pick(found, "train.steps")
    assert [(s.key, s.default, s.type) for s in steps] == [("train.steps", 600, "int")]
    assert {s.key for s in pick(found, "decoder")} == {"decoder.dim", "decoder.depth", "decoder.heads"}
