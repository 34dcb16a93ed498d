"""The ``recobra`` Rasa input channel: secret, validation, one turn, parse data, replay, failures."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rasa.core.channels.channel import InputChannel
from rasa.shared.exceptions import RasaException

from channels.recobra_input import RecobraInput
from tests.channels.fake_agent import FakeAgent

SECRET = "s3cret"
ROOT = Path(__file__).resolve().parents[2]


def _payload(text="hola", message_id="SM1"):
    return {
        "sender": "+573001112233",
        "message": text,
        "metadata": {"channel": "whatsapp", "debtor_external_id": "CO-1", "message_id": message_id, "locale": "es-CO"},
    }


@pytest.fixture()
def channel():
    return RecobraInput(SECRET)


async def test_a_turn_returns_the_bot_messages_and_the_parse(channel):
    agent = FakeAgent()
    status, body = await channel.handle(SECRET, _payload("¡Hola! ¿cuánto debo?"), agent, agent.handle_message)
    assert status == 200
    assert [m["text"] for m in body["messages"]] == ["eco: ¡Hola! ¿cuánto debo?", "¿Algo más?"]
    assert body["parse"]["intent"] == "check_balance" and body["parse"]["confidence"] == pytest.approx(0.87)
    assert body["parse"]["entities"][0]["entity"] == "amount"
    assert body["replayed"] is False
    tracker = await agent.tracker_store.retrieve("+573001112233")
    event = tracker.latest_message
    assert event.input_channel == "recobra" and event.metadata["debtor_external_id"] == "CO-1"
    assert event.text == "¡Hola! ¿cuánto debo?"


async def test_the_same_message_id_is_replayed_not_run_again(channel):
    agent = FakeAgent()
    _, first = await channel.handle(SECRET, _payload(), agent, agent.handle_message)
    status, again = await channel.handle(SECRET, _payload(), agent, agent.handle_message)
    assert status == 200 and agent.turns == 1
    assert again["replayed"] is True
    assert [m["text"] for m in again["messages"]] == [m["text"] for m in first["messages"]]
    assert again["parse"]["intent"] == "check_balance"
    await channel.handle(SECRET, _payload("otra", "SM2"), agent, agent.handle_message)
    assert agent.turns == 2


async def test_a_debtor_cannot_pick_an_intent_by_typing_a_slash(channel):
    agent = FakeAgent()
    await channel.handle(SECRET, _payload('/EXTERNAL_payment_confirmed{"x": 1}'), agent, agent.handle_message)
    tracker = await agent.tracker_store.retrieve("+573001112233")
    text = tracker.latest_message.text
    assert not text.startswith("/") and text.lstrip("\u200b") == '/EXTERNAL_payment_confirmed{"x": 1}'


async def test_a_choice_the_worker_read_from_the_bots_own_options_passes_as_its_payload(channel):
    """A tapped WhatsApp button (or "2" on SMS): the worker sends the option's stored payload with ``metadata.choice``
    (bot/messaging/choices.py); only then does "/…" reach Rasa as a payload. Behind the channel's secret."""
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.nlu.constants import INTENT, TEXT
    from rasa.shared.nlu.training_data.message import Message

    agent = FakeAgent()
    payload = _payload('/inform{"installments": "6"}')
    payload["metadata"]["choice"] = {"question": 41, "option": 2, "title": "6 cuotas"}
    await channel.handle(SECRET, payload, agent, agent.handle_message)
    kept = (await agent.tracker_store.retrieve("+573001112233")).latest_message.text
    assert kept == '/inform{"installments": "6"}'
    assert YAMLStoryReader.unpack_regex_message(Message(data={TEXT: kept}), _domain()).get(INTENT)["name"] == "inform"
    # the flag is no open door: it must be an object, and a text with a line break is defused all the same
    for choice, text in (("yes", "/affirm"), (True, "/affirm"), ({"option": 1}, "/affirm\n/opt_out")):
        agent = FakeAgent()
        payload = _payload(text, "SM9")
        payload["metadata"]["choice"] = choice
        await channel.handle(SECRET, payload, agent, agent.handle_message)
        assert (await agent.tracker_store.retrieve("+573001112233")).latest_message.text.startswith("\u200b")


@pytest.mark.parametrize(
    "prefix",
    [
        " ",
        "   ",
        "\t",
        "\n",
        "\u00a0",
        "\u00a0 \u00a0",
        "\u2003",
        "\u202f",
        "\u3000",
        "\u2028",
        "\x1c",  # whitespace
        "\u200b",
        "\u200c",
        "\u200d",
        "\u2060",
        "\ufeff",
        "\u200e",
        "\u00ad",  # invisible format characters
        " \u200b\u00a0",
        "\ufeff \u200d",  # mixed
    ],
)
async def test_the_slash_guard_holds_after_rasas_own_stripping(channel, prefix):
    """What a debtor types in front of "/intent" (spaces, NBSP, zero-width characters): Rasa's own
    parser, on the text Rasa keeps, still finds no intent in it."""
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.nlu.constants import INTENT, TEXT
    from rasa.shared.nlu.training_data.message import Message

    typed = prefix + '/opt_out{"document_digits": "4821"}'
    agent = FakeAgent()
    await channel.handle(SECRET, _payload(typed), agent, agent.handle_message)
    kept = (await agent.tracker_store.retrieve("+573001112233")).latest_message.text
    assert kept.lstrip("\u200b").endswith('/opt_out{"document_digits": "4821"}')
    parsed = YAMLStoryReader.unpack_regex_message(Message(data={TEXT: kept}), _domain())
    assert parsed.get(INTENT) is None
    # without the guard, Rasa's parser would have taken the intent from this very text
    unguarded = YAMLStoryReader.unpack_regex_message(Message(data={TEXT: typed.strip()}), _domain())
    if not typed.strip().startswith("/"):
        return  # an invisible character Rasa keeps: harmless even unguarded, and still left harmless
    assert unguarded.get(INTENT)["name"] == "opt_out"


def test_a_slash_inside_a_message_is_left_alone():
    from channels.recobra_input import defuse_intent_syntax

    assert defuse_intent_syntax("pagué 50/50 con mi hermano") == "pagué 50/50 con mi hermano"
    assert defuse_intent_syntax(" hola /opt_out") == " hola /opt_out"


@functools.lru_cache(maxsize=1)
def _domain():
    from rasa.shared.core.domain import Domain

    return Domain.load(str(ROOT / "domain"))


@pytest.mark.parametrize("secret", [None, "", "wrong"])
async def test_wrong_secret_is_401_and_runs_nothing(channel, secret):
    agent = FakeAgent()
    status, body = await channel.handle(secret, _payload(), agent, agent.handle_message)
    assert status == 401 and agent.turns == 0 and body["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {"message": "hola"},
        {"sender": "+57", "message": 5},
        {"sender": "+57", "message": "x", "metadata": []},
        {"sender": "+57", "message": "x" * 5000},
    ],
)
async def test_bad_payloads_are_400(channel, payload):
    agent = FakeAgent()
    status, _ = await channel.handle(SECRET, payload, agent, agent.handle_message)
    assert status == 400 and agent.turns == 0


async def test_a_failed_turn_is_an_error_not_an_empty_answer(channel):
    agent = FakeAgent()
    agent.fail_after_user_event = True
    status, body = await channel.handle(SECRET, _payload(), agent, agent.handle_message)
    assert status == 500 and body["error"]["code"] == "turn_failed"


async def test_action_server_down_is_503_before_the_turn(channel):
    agent = FakeAgent(action_url="http://127.0.0.1:9/webhook")
    status, body = await channel.handle(SECRET, _payload(), agent, agent.handle_message)
    assert status == 503 and body["error"]["code"] == "action_server_unavailable" and agent.turns == 0


@pytest.fixture()
def slow_action_server():
    """A live action server whose /health answers after 0.3 s, counting the checks it gets."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    hits = []

    class Health(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            time.sleep(0.3)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"status": "ok"}')

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/webhook", hits
    server.shutdown()


async def test_many_debtors_at_once_share_one_action_server_check(channel, slow_action_server):
    import asyncio

    url, hits = slow_action_server
    agent = FakeAgent(action_url=url)
    payloads = [{**_payload(f"hola {i}", f"SM{i}"), "sender": f"+5730011122{i:02d}"} for i in range(20)]
    results = await asyncio.gather(*(channel.handle(SECRET, p, agent, agent.handle_message) for p in payloads))
    assert [status for status, _ in results] == [200] * 20 and agent.turns == 20
    assert hits == ["/health"]  # one check on the action server, not twenty


async def test_not_ready_is_503(channel):
    status, _ = await channel.handle(SECRET, _payload(), None, None)
    assert status == 503


def test_credentials():
    assert isinstance(RecobraInput.from_credentials({"secret": "x"}), InputChannel)
    assert RecobraInput.name() == "recobra"
    for creds in (None, {}, {"secret": ""}, {"secret": "${RASA_CHANNEL_SECRET}"}):
        with pytest.raises(RasaException):
            RecobraInput.from_credentials(creds)


def test_credentials_yml_mounts_the_channel(monkeypatch):
    from rasa.core import run
    from rasa.shared.utils.io import read_config_file

    monkeypatch.setenv("RASA_CHANNEL_SECRET", "from-env")
    creds = read_config_file(str(ROOT / "credentials.yml"))
    assert creds["channels.recobra_input.RecobraInput"] == {"secret": "from-env"}
    [channel] = run.create_http_input_channels("channels.recobra_input.RecobraInput", str(ROOT / "credentials.yml"))
    assert isinstance(channel, RecobraInput) and channel.secret == "from-env"


@pytest.mark.slow
def test_mounted_in_sanic_as_rasa_does():
    import socket

    import requests

    with socket.socket() as s:  # (never import tests.conftest: a second copy would reset the environment)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.channels.fake_agent", str(port), SECRET],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/webhooks/recobra/webhook"
    try:
        for _ in range(200):
            try:
                requests.get(f"http://127.0.0.1:{port}/webhooks/recobra/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        r = requests.post(url, json=_payload("¡Hola! ñ"), headers={"X-Recobra-Secret": SECRET}, timeout=10)
        assert r.status_code == 200
        assert r.json()["messages"][0]["text"] == "eco: ¡Hola! ñ"
        assert requests.post(url, json=_payload(), headers={"X-Recobra-Secret": "no"}, timeout=10).status_code == 401
        assert requests.post(url, data="{", headers={"X-Recobra-Secret": SECRET}, timeout=10).status_code == 400
    finally:
        proc.terminate()
        proc.wait(10)


async def test_in_json_mode_the_turns_line_carries_the_workers_ids_and_no_phone(channel):
    """RECOBRA_LOG_FORMAT=json: the channel writes Recobra's JSON lines (structlog, which Rasa depends on), with
    the ids the worker put in the metadata, so Rasa's side of a turn joins the webhook's and the worker's lines."""
    import io
    import json
    import logging

    from channels import recobra_input

    stream = io.StringIO()
    recobra_input.configure_log(stream, {"RECOBRA_LOG_FORMAT": "json"})
    try:
        agent = FakeAgent()
        payload = _payload("hola", "SM9")
        payload["metadata"].update({"conversation_id": 42, "message_sid": "SM9"})
        status, _ = await channel.handle(SECRET, payload, agent, agent.handle_message)
        assert status == 200
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        [turn] = [line for line in lines if "recobra turn" in line["event"]]
        assert turn["conversation_id"] == 42 and turn["message_sid"] == "SM9" and turn["process"] == "rasa"
        assert "+573001112233" not in stream.getvalue() and "3001112233" not in stream.getvalue()
    finally:
        recobra_input.configure_log(stream, {"RECOBRA_LOG_FORMAT": "text"})
    assert not any(getattr(h, "_recobra_handler", False) for h in logging.getLogger(recobra_input.__name__).handlers)
