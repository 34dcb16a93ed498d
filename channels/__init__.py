"""What runs inside the Rasa server: Recobra's own input channel and the ``rasa run`` wrapper.

The Rasa server keeps its own pinned runtime, so nothing here imports the rest of the project
(tests/unit/test_layers.py holds that): the Twilio formats and compliance keywords live in
``bot.messaging`` and ``bot.conversation``, on the service side.
"""
