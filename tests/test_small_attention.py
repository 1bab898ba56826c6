"""utils.small_attention: the same numbers as transformers' eager attention, padding mask included."""

import torch

from utils import small_attention
from utils.pretraining import build_tiny_bert, load_corpus, load_tokenizer, mlm_loss, tokenize_corpus


def test_softmax_and_its_gradient_equal_torch():
    scores = torch.randn(3, 2, 5, 5, dtype=torch.float64, requires_grad=True)
    scores.data[0, 0, 0, 3:] = torch.finfo(torch.float64).min  # masked keys, as the padding mask makes them
    torch.testing.assert_close(small_attention.softmax(scores), torch.softmax(scores, dim=-1))
    assert torch.autograd.gradcheck(small_attention.softmax, (scores,))
    grad = torch.randn(3, 2, 5, 5, dtype=torch.float64)
    ours = torch.autograd.grad(small_attention.softmax(scores), scores, grad)[0]
    torch.testing.assert_close(ours, torch.autograd.grad(torch.softmax(scores, -1), scores, grad)[0])


def test_tiny_bert_loss_and_gradients_equal_eager_on_a_padded_batch():
    tokenizer = load_tokenizer()
    batch = tokenize_corpus(load_corpus()[1][:16], tokenizer)
    assert (batch["attention_mask"] == 0).any(), "the batch must contain padding for the mask to matter"
    labels = torch.where(torch.rand(batch["input_ids"].shape, generator=torch.Generator().manual_seed(0)) < 0.3,
                         batch["input_ids"], -100)
    labels[batch["special_tokens_mask"].bool()] = -100
    results = {}
    for name in ("eager", small_attention.register()):
        model = build_tiny_bert(tokenizer, seed=0)
        model.set_attn_implementation(name)
        model.train()
        loss = mlm_loss(model, batch["input_ids"], batch["attention_mask"], labels)
        loss.backward()
        attentions = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                           output_attentions=True).attentions
        results[name] = (loss.detach(), [p.grad for p in model.parameters()], attentions)
    (loss, grads, attentions), (loss2, grads2, attentions2) = results.values()
    torch.testing.assert_close(loss2, loss)
    for ours, theirs in zip(grads2, grads):
        torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-4)
    for ours, theirs in zip(attentions2, attentions):
        torch.testing.assert_close(ours, theirs)
    padded = batch["attention_mask"] == 0
    # Padding receives no attention: the mask reached our function.
    assert attentions2[0][padded[:, None, None, :].expand_as(attentions2[0])].abs().max() == 0
