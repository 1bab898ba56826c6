"""Checkers for lesson 00 (setup check)."""

from ..model import load_model
from . import Wrong, exercise, expect_type


@exercise("00.num_hidden_states")
def num_hidden_states(answer) -> str:
    """How many tensors does ``hidden_states`` hold for the course's model?"""
    answer = expect_type(answer, int, "len(outputs.hidden_states)")
    layers = load_model().model.config.num_hidden_layers
    if answer == layers:
        raise Wrong(
            f"That is the number of Transformer layers ({layers}). hidden_states also holds the embedding output "
            f"that goes into layer 1, at index 0."
        )
    if answer in (12, 13, 24, 25):
        raise Wrong(
            "That number belongs to BERT-Base (12 layers) or BERT-Large (24 layers). The course's model is smaller: "
            "read model.config.num_hidden_layers."
        )
    if answer != layers + 1:
        raise Wrong(f"Count them: print(len(outputs.hidden_states)). It is layers + 1, and the model has {layers}.")
    return f"{layers} layers + 1 embedding output = {layers + 1} tensors, each [batch, seq_len, hidden]."
