"""SMS encoding, segments, transliteration, WhatsApp markup and splitting."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.messaging import sms


def test_gsm7_limits():
    assert sms.sms_info("a" * 160) == sms.SmsInfo("GSM-7", 1, 160)
    assert sms.sms_info("a" * 161).segments == 2
    assert sms.sms_info("a" * 306).segments == 2
    assert sms.sms_info("a" * 307).segments == 3
    assert sms.sms_info("").segments == 0


def test_spanish_letters_in_and_out_of_gsm7():
    assert sms.encoding_of("¿Señor Muñoz? ¡Pagó! é ü Ñ") == "UCS-2"  # "ó" is not GSM-7
    assert sms.encoding_of("¿Señor Muñoz? ¡Pague! é ü Ñ") == "GSM-7"
    for ch in "áíóúÁÍÓÚ":
        assert sms.encoding_of(ch) == "UCS-2"


def test_one_accent_turns_a_one_part_message_into_three():
    text = "está" + "a" * 146  # 150 characters
    assert sms.sms_info(text) == sms.SmsInfo("UCS-2", 3, 150)
    assert sms.sms_info(sms.transliterate(text)) == sms.SmsInfo("GSM-7", 1, 150)


def test_ucs2_limits_and_emoji_take_two_units():
    assert sms.sms_info("á" * 70).segments == 1
    assert sms.sms_info("á" * 71).segments == 2
    assert sms.sms_info("á" * 134).segments == 2
    assert sms.sms_info("á" * 135).segments == 3
    assert sms.sms_info("😀" * 35) == sms.SmsInfo("UCS-2", 1, 70)
    assert sms.sms_info("😀" * 36).segments == 2


def test_extension_characters_take_two_septets():
    assert sms.sms_info("€" * 80) == sms.SmsInfo("GSM-7", 1, 160)
    assert sms.sms_info("€" * 81).segments == 2
    assert sms.encoding_of("[{|}]~^\\€") == "GSM-7"


def test_transliteration_keeps_gsm7_letters():
    assert sms.transliterate("¿Cuánto está? ÁÍÓÚ ñ é ü ¡ “hola” — …") == '¿Cuanto esta? AIOU ñ é ü ¡ "hola" - ...'


def test_whatsapp_markup_is_stripped_for_sms_but_not_urls_or_words():
    text = "Hola *Ana*, tu _saldo_ es ~$100~ ```ok``` https://x.co/p/a_b_c mi_variable 2*3*4"
    assert sms.strip_markup(text) == "Hola Ana, tu saldo es $100 ok https://x.co/p/a_b_c mi_variable 2*3*4"


def test_prepare_sms_formats_and_counts():
    [(body, info)] = sms.prepare_sms("Hola *Ana*, ¿cómo está?")
    assert body == "Hola Ana, ¿como esta?" and info.encoding == "GSM-7" and info.segments == 1
    [(body, info)] = sms.prepare_sms("¿cómo está?", transliterate_accents=False)
    assert body == "¿cómo está?" and info.encoding == "UCS-2"


def test_split_prefers_sentence_boundaries():
    text = "Primera frase corta. Segunda frase algo más larga que la primera! ¿Tercera? Cuarta."
    parts = sms.split_text(text, lambda t: len(t) <= 50)
    assert parts == ["Primera frase corta.", "Segunda frase algo más larga que la primera!", "¿Tercera? Cuarta."]


words = st.text(alphabet=st.sampled_from("abcdefghijklmnñopqrstuvwxyzáéíóú¿?¡!.,😀€"), min_size=1, max_size=25)
separators = st.sampled_from([" ", " ", " ", ". ", "! ", "\n", "  "])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(words, separators), min_size=1, max_size=120), st.integers(min_value=30, max_value=400))
def test_split_never_cuts_a_word_and_loses_nothing(pieces, limit):
    text = "".join(w + s for w, s in pieces)
    parts = sms.split_text(text, lambda t: len(t) <= limit)
    assert all(0 < len(p) <= limit for p in parts)
    assert " ".join(parts).split() == text.split()  # every word, in order, none cut (all words fit)
    for p in parts:
        assert p == p.strip()


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from("abc ñé¿¡áó😀€[.\n"), min_size=0, max_size=2000))
def test_prepared_sms_parts_fit_and_counts_match(text):
    parts = sms.prepare_sms(text)
    for body, info in parts:
        assert len(body) <= sms.TWILIO_MAX_BODY and 1 <= info.segments <= sms.MAX_SEGMENTS_PER_MESSAGE
        assert info == sms.sms_info(body)
        single, part = sms.SINGLE[info.encoding], sms.PART[info.encoding]
        if info.units <= single:
            assert info.segments == 1
        else:
            assert info.segments >= -(-info.units // part)  # never fewer than the plain division


@pytest.mark.slow
@given(st.text(min_size=0, max_size=300))
def test_segment_count_is_monotonic_in_length(text):
    assert sms.segment_count(text + "a") >= sms.segment_count(text)
