"""Rasa's FallbackClassifier, except that an intent and a multi-intent made of it are not "ambiguous".

"no tengo lana ahorita, me quedé sin chamba" ranks ``report_nonpayment_reason`` 0.54 and
``report_nonpayment_reason+promise_to_pay`` 0.45. The plain FallbackClassifier sees two intents
closer than its ambiguity threshold and answers "no le entendí", although both readings agree that
the debtor is telling why they have not paid; the only doubt is whether a promise came with it.
Likewise "me pagan a fin de mes, puedo pagar ese día?" (0.38 and 0.34, each below the threshold).
Here, when the parts of one of the top two intents contain the other's, the two are not ambiguous
and their confidences count together against the threshold; the top intent stands. Two intents
that do not nest, such as ``report_nonpayment_reason`` against ``deny``, are still ambiguous.

Most of the messages the plain classifier turns away this way are read right, or half right (the reason
recorded, the promise asked next); what it keeps is measured in docs/nlu.md (*Readings that nest are not
ambiguous*).
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.fallback_classifier import THRESHOLD_KEY, FallbackClassifier
from rasa.shared.nlu.constants import INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message

from components.intent_ensemble import INTENT_SPLIT_SYMBOL


def nested(first: str | None, second: str | None) -> bool:
    """Whether one intent's parts are all parts of the other ("a" and "a+b", not "a+b" and "a+c")."""
    if not first or not second:
        return False
    a, b = set(first.split(INTENT_SPLIT_SYMBOL)), set(second.split(INTENT_SPLIT_SYMBOL))
    return a <= b or b <= a


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class PartAwareFallbackClassifier(FallbackClassifier):
    """FallbackClassifier whose ambiguity check skips intents that nest (see the module docstring)."""

    @staticmethod
    def _top_two_nest(message: Message) -> bool:
        ranking = message.data.get(INTENT_RANKING_KEY) or []
        return len(ranking) >= 2 and nested(ranking[0].get(INTENT_NAME_KEY), ranking[1].get(INTENT_NAME_KEY))

    def _nlu_confidence_below_threshold(self, message: Message) -> tuple[bool, float]:
        if self._top_two_nest(message):
            ranking = message.data[INTENT_RANKING_KEY]
            confidence = sum(r.get(PREDICTED_CONFIDENCE_KEY) or 0.0 for r in ranking[:2])
            return confidence < self.component_config[THRESHOLD_KEY], confidence
        return super()._nlu_confidence_below_threshold(message)

    def _nlu_prediction_ambiguous(self, message: Message) -> tuple[bool, float | None]:
        if self._top_two_nest(message):
            return False, None
        return super()._nlu_prediction_ambiguous(message)
