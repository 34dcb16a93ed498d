"""Recobra's custom actions (rasa_sdk): thin wrappers that read the turn, call a service in ``bot/``
and answer with domain responses. Nothing heavy at import.

How the package is laid out (imports point down only; ``tests/unit/test_layers.py`` checks there is no cycle):

* ``catalogue``: the Action classes Rasa calls by name, each handing its turn to one handler.
* ``dialogue``: what a message means now. The checks before every action, what «sí»/«no» mean after the
  last proposal, what an answer to the open question is carried out as, and the handler of each intent.
* The features, one module per conversation area (``balance``, ``identity``, ``promises``, ``due_dates``,
  ``payment_plans``, ``payment_links``, ``reasons``, ``handoff``, ``optout``, ``greeting``, ``outreach``):
  each imports only what is below it, never another feature; what two of them share (``reading``) is
  its own module.
* ``base`` (the turn, the replies, the identity gate, the action shell), ``parsing`` (dates, amounts and
  counts in Spanish text) and ``store`` (the store session) at the bottom; ``server`` runs it all.

How the dialogue is put together:

* Every intent has one rule (``data/rules/``) to one action; multi-intents (``a+b``) run both
  actions in order. No slot steers the policies: the actions keep the conversation's state in
  slots that do not influence the conversation (``domain/session.yml``).
* Identity gate (``Ctx.require_verified``): an action that would disclose or change anything asks
  for the last 4 digits of the document first and remembers the request (``pending_request`` +
  the message's entities); ``action_verify_identity`` carries it out right after a good answer
  (``dialogue.carry_out_pending``). Three wrong answers lock disclosure for the session and hand
  the conversation to a person. ``verified`` lasts one session (60 minutes, nothing carried over).
* Yes/no: what the bot proposed last is ``pending_confirmation`` (promise, due_date,
  payment_plan, payment_link, plan_offer, handoff); ``affirm``/``deny`` go to
  ``action_confirm_pending``/``action_decline_pending``, which do or drop it (``dialogue.PROPOSALS``).
* What the bot asked for is ``awaiting`` (document_digits, promise_date, due_date, plan_count);
  ``inform`` goes to ``action_process_inform``, which routes the answer there (``dialogue.ANSWERS``).
* Texts live in ``domain/*.yml``; lines inside one message (balance per invoice, plan options)
  are rendered from their own responses (``Ctx.render``). The responses only actions utter are
  listed in ``data/rules/rules_response_catalogue.yml`` (a rule that never fires) so that
  ``rasa data validate --fail-on-warnings`` stays clean; ``tests/actions/test_domain.py`` keeps it
  in step.
* ``EXTERNAL_`` intents come from the worker's scheduler through ``trigger_intent``; they message
  only known, reachable debtors who have not opted out, and disclose nothing before the check.
"""
