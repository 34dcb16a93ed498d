"""Rasa's FallbackClassifier, except that an intent and a multi-intent made of it are not "ambiguous".

"no tengo lana ahorita, me quedé sin chamba" ranks ``report_nonpayment_reason`` 0.54 and
``report_nonpayment_reason+promise_to_pay`` 0.45. The plain FallbackClassifier sees two intents
closer than its ambiguity threshold and answers "no le entendí", although both readings agree that
the debtor is telling why they have not paid; the only doubt is whether a promise came with it.
Here, when one of the top two intents' parts contain the other's, the top intent stands (the
confidence threshold still applies). Two intents that do not nest, such as ``report_nonpayment_reason``
against ``deny``, are still ambiguous.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.constants import INTENT_NAME_KEY, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

INTENT_SPLIT_SYMBOL = "+"


def nested(first: str | None, second: str | None) -> bool:
    """Whether one intent's parts are all parts of the other ("a" and "a+b", not "a+b" and "a+c")."""
    if not first or not second:
        return False
    a, b = set(first.split(INTENT_SPLIT_SYMBOL)), set(second.split(INTENT_SPLIT_SYMBOL))
    return a <= b or b <= a


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class PartAwareFallbackClassifier(FallbackClassifier):
    """FallbackClassifier whose ambiguity check skips intents that nest (see the module docstring)."""

    def _nlu_prediction_ambiguous(self, message: Message) -> tuple[bool, float | None]:
        ranking = message.data.get(INTENT_RANKING_KEY) or []
        if len(ranking) >= 2 and nested(ranking[0].get(INTENT_NAME_KEY), ranking[1].get(INTENT_NAME_KEY)):
            return False, None
        return super()._nlu_prediction_ambiguous(message)
